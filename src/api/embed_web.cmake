# Generates web_assets_embedded.cpp: each built dashboard file of web/dist/
# (committed; see web/README.md) as a byte array with its content type and an
# ETag (the first 16 hex digits of its SHA-256). Run at build time whenever a
# file of web/dist/ changes, so the binary always serves the committed bundle.
#
# Inputs: WEB_DIST (folder), ASSET_NAMES (;-list of file names), OUTPUT.
set(out "// Generated from web/dist/ by src/api/embed_web.cmake. Do not edit.\n")
string(APPEND out "#include \"api/web_assets.h\"\n\nnamespace steadfast::api {\n\nnamespace {\n\n")
set(table "")
set(index 0)
foreach(name IN LISTS ASSET_NAMES)
  set(file "${WEB_DIST}/${name}")
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "embed_web: ${file} is missing: build the dashboard (cd web && npm ci && npm run build)")
  endif()
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "embed_web: no content type known for ${name}")
  endif()
  file(READ "${file}" hex HEX)
  file(SHA256 "${file}" sha)
  string(SUBSTRING "${sha}" 0 16 etag)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # 16 bytes a line, so the generated file stays readable in a diff tool.
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " bytes "${bytes}")
  string(APPEND out "const unsigned char asset_${index}[] = {\n  ${bytes}\n  0x00};\n\n")
  string(APPEND table "    {\"${name}\", \"${type}\", \"\\\"${etag}\\\"\", "
                      "std::string_view(reinterpret_cast<const char*>(asset_${index}), ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND out "}  // namespace\n\nconst std::vector<WebAsset>& web_assets() {\n")
string(APPEND out "  static const std::vector<WebAsset> assets = {\n${table}  };\n  return assets;\n}\n\n")
string(APPEND out "}  // namespace steadfast::api\n")
file(WRITE "${OUTPUT}.tmp" "${out}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
