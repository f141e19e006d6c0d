// How goscope shows addresses, durations and source positions to a person:
// one rule for every command (trace lines, summaries, dumps); and how names from
// the binary, which need not be UTF-8, go into JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "state/stack_symbolizer.h"

namespace goscope::output {

// An address as Go's %p prints it: "0xc000020060".
std::string address_text(uint64_t address);

// A duration with three significant digits and its unit: "850ns", "12.3µs", "1.23ms", "4.56s", "2m03s".
std::string duration_text(int64_t ns);

// A size in bytes as people read it: "850 B", "12.3 KiB", "4.56 MiB", "1.20 GiB".
std::string size_text(uint64_t bytes);

// The file of a source position as shown in text: the basename ("main.go") when the
// path has directories above its package's ("/home/u/app/cmd/main.go"); paths of
// at most two elements ("runtime/proc.go" of a -trimpath build, "main.go") in full.
std::string_view short_file(std::string_view path);

// "main.worker (main.go:42)"; "0x4a1b2c" for an unknown address.
std::string frame_text(const state::CodeFrame& frame);

// "file:line" with the full path, as JSON shows it; "" for an unknown frame.
std::string file_line(const state::CodeFrame& frame);

// `s` as a JSON string, quotes included; bytes that are not UTF-8 become U+FFFD.
std::string json_quote(std::string_view s);

// `s` with the bytes json_quote() replaces replaced the same way: a string nlohmann::json dumps.
std::string valid_utf8(std::string_view s);

}  // namespace goscope::output
