# Generates scripts_embedded.cpp: every transition script, with lib.lua
# inserted after its first line, as a C++ raw string. Run at build time
# whenever a .lua file changes.
#
# Every script starts with a `#!lua` line (Redis 7 script flags: `allow-oom`,
# `no-writes`); it must stay the script's first line, so lib.lua goes after it.
# A shebang script may only touch keys in the slots of the keys it declares.
file(READ "${LUA_DIR}/lib.lua" lib)
set(out "// Generated from src/store/lua/*.lua by embed_lua.cmake. Do not edit.\n")
string(APPEND out "#include \"store/scripts.h\"\n\nnamespace steadfast::store::scripts {\n\n")
foreach(name IN LISTS SCRIPT_NAMES)
  file(READ "${LUA_DIR}/${name}.lua" body)
  string(FIND "${body}" "\n" eol)
  string(SUBSTRING "${body}" 0 ${eol} shebang)
  if(NOT shebang MATCHES "^#!lua( flags=[a-z,-]+)?$")
    message(FATAL_ERROR "${name}.lua: the first line must be `#!lua` or `#!lua flags=...`, not `${shebang}`")
  endif()
  math(EXPR rest "${eol} + 1")
  string(SUBSTRING "${body}" ${rest} -1 body)
  string(APPEND out "const redis::Script& ${name}() {\n")
  string(APPEND out "  static const redis::Script s(\"${name}\", R\"sfLUA(${shebang}\n${lib}\n${body})sfLUA\");\n")
  string(APPEND out "  return s;\n}\n\n")
endforeach()
string(APPEND out "}  // namespace steadfast::store::scripts\n")
file(WRITE "${OUTPUT}.tmp" "${out}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
