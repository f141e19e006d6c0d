// detect::Finding to JSON and back, losing nothing: every field, exact integers,
// doubles that read back bit for bit (NaN and infinities included), and names
// that are not UTF-8 (a binary's function names need not be) kept byte for byte.
// This is how trace files store findings. It is not the report schema
// (findings_report.h, for people and scripts), which may round, rename and add.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "detect/findings.h"

namespace goscope::tracefile {

nlohmann::json finding_to_json(const detect::Finding& finding);
// Errors name the first field that is missing or of the wrong type; never throws.
Expected<detect::Finding> finding_from_json(const nlohmann::json& json);

// The same as one line of JSON text, and back (a parse error is an error value).
std::string finding_to_text(const detect::Finding& finding);
Expected<detect::Finding> finding_from_text(std::string_view text);

}  // namespace goscope::tracefile
