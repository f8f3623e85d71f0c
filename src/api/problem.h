// Errors as RFC 9457 problem details (application/problem+json):
//   {"type", "title", "status", "detail", "instance"?, "errors"?}
// `type` is a stable tag URI per kind of problem ("tag:steadfast,2025:invalid-input");
// clients branch on it or on `status`, never on `detail` (meant for people).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "engine/json_schema.h"
#include "steadfast/json.h"

namespace steadfast::api {

inline constexpr std::string_view kProblemContentType = "application/problem+json";

// One field that failed validation: `pointer` is a JSON pointer into the
// request body ("/input/document_url"), `detail` what is wrong with it.
using engine::FieldError;
using engine::escape_pointer_token;

// A problem response. `slug` names the kind ("not-found", "invalid-input");
// the title is the status' reason phrase unless given.
[[nodiscard]] Response problem(int status, std::string_view slug, std::string detail,
                               std::string_view title = {});

// A JSON answer (invalid UTF-8 in the body's strings replaced, never thrown).
[[nodiscard]] Response json_response(int status, const Json& body);

// 422 with an "errors" array.
[[nodiscard]] Response validation_problem(std::string detail, const std::vector<FieldError>& errors);

// The reason phrase of a status code ("Not Found"), "Unknown" for others.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace steadfast::api
