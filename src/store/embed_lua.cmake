# Generates scripts_embedded.cpp: every transition script, with lib.lua prepended,
# as a C++ raw string. Run at build time whenever a .lua file changes.
file(READ "${LUA_DIR}/lib.lua" lib)
set(out "// Generated from src/store/lua/*.lua by embed_lua.cmake. Do not edit.\n")
string(APPEND out "#include \"store/scripts.h\"\n\nnamespace steadfast::store::scripts {\n\n")
foreach(name IN LISTS SCRIPT_NAMES)
  file(READ "${LUA_DIR}/${name}.lua" body)
  string(APPEND out "const redis::Script& ${name}() {\n")
  string(APPEND out "  static const redis::Script s(\"${name}\", R\"sfLUA(${lib}\n${body})sfLUA\");\n")
  string(APPEND out "  return s;\n}\n\n")
endforeach()
string(APPEND out "}  // namespace steadfast::store::scripts\n")
file(WRITE "${OUTPUT}.tmp" "${out}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
