// What goscope says about its findings (detect::Finding): to a person, as JSON for
// scripts, and as SARIF 2.1.0 for code scanning (GitHub, IDEs).
//
// Text, most severe first, like a Go traceback under a verdict:
//
//   error[GS101 mutex-deadlock]: AB-BA deadlock: goroutines 12 and 31
//     goroutine 12 waits for sync.Mutex 0xc0000a4010 (B), held by goroutine 31
//     goroutine 31 waits for sync.Mutex 0xc0000a4000 (A), held by goroutine 12
//
//   goroutine 12 [sync.Mutex.Lock, 5.2s]:
//   main.transfer(...)             (...) marks an inlined call, as Go does
//   	/home/u/app/bank.go:42
//   holds: sync.Mutex 0xc0000a4000 (A)
//   created by main.main in goroutine 1
//   	/home/u/app/main.go:60
//   ...
//   where to look: main.transfer at /home/u/app/bank.go:42
//   help: take the locks in one global order ...
//
//   1 finding: 1 error
//
// JSON: {"findings":[...], "counts":{"error":n,"warning":n,"info":n}}; each finding
// carries every field of detect::Finding (addresses as "0x..." strings, objects with
// their kind's name). Fields are added, never renamed. Names from the binary need not
// be UTF-8: bad bytes become U+FFFD, so the value always dumps.
//
// SARIF: one run, every rule of detect::all_rules() (ruleIndex is the rule's index
// there), a result per finding with its location, the goroutines' sites as related
// locations, one thread flow per goroutine (its stack, outermost first) and
// partialFingerprints {"goscope/v1": key} so CI recognises the same finding again.
// GitHub code scanning rejects a whole log for one bad location, so every location
// written has a file (physicalLocation), a region only for a line >= 1, and every
// result has one (see SarifOptions::unlocated_uri).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "detect/findings.h"

namespace goscope::output {

struct TextOptions {
  bool color = false;            // ANSI colors (the caller decides: never when not a terminal)
  size_t max_stack_frames = 12;  // frames listed per goroutine; 0: all
  bool verbose = false;          // runtime frames, pcs, object details, metrics, timestamps and keys too
};

void write_findings_text(std::ostream& out, const std::vector<detect::Finding>& findings,
                         const TextOptions& options = {});

nlohmann::json findings_json(const std::vector<detect::Finding>& findings);

struct SarifOptions {
  std::string tool_version;     // tool.driver.version, omitted when empty
  std::string information_uri;  // tool.driver.informationUri, omitted when empty
  // The checkout the binary was built from ("/home/u/app"). Files under it are written
  // relative to it (uriBaseId "SRCROOT"), as code scanning wants; other absolute
  // paths become file:// URIs.
  std::optional<std::string> source_root;
  // What a result with no source file at all (a stop-the-world pause, goroutine growth
  // seen nowhere in particular) points at: code scanning rejects the whole log when one
  // result has no physical location. Relative to source_root when given; the CLI may
  // pass the target binary instead. Such results have properties.unlocated = true.
  std::string unlocated_uri = "go.mod";
};

nlohmann::json findings_sarif(const std::vector<detect::Finding>& findings, const SarifOptions& options);

// ---- findings files and the console: the format from the file name, in one place

enum class FindingsFormat { kText, kJson, kSarif };
// .sarif / .sarif.json: SARIF; other .json: JSON; anything else text.
FindingsFormat findings_format_for_path(const std::string& path);
// Writes the findings to `path` (whole, renamed into place; the invoking user's under
// sudo: common/user_files.h). `tool_version` goes into SARIF.
Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings,
                                   FindingsFormat format, const std::string& tool_version);
// The text form on a terminal or pipe (stderr while live), colored when asked.
void print_findings(FILE* out, const std::vector<detect::Finding>& findings, bool color);

// ---- pieces of a finding, the same in every report (text, SARIF, HTML)

// Most severe first; findings of one severity keep their order.
std::vector<const detect::Finding*> by_severity(std::span<const detect::Finding> findings);
// The object at `address` among the finding's objects, nullptr when not there.
const detect::FindingObject* finding_object(const detect::Finding& f, uint64_t address);
// "sync.Mutex 0xc0000a4010 (B)": the detector's name, else kind and address.
std::string object_label(const detect::Finding& f, uint64_t address);
// Where to look: its location, else a goroutine's blocking site, else the first non-runtime frame.
std::optional<detect::Location> primary_location(const detect::Finding& f);
// "5.2s", "at least 5.2s" (the start was not seen), "" (not blocked).
std::string blocked_text(const detect::FindingGoroutine& g);
// A metric's name for people: "wait_ns" -> "wait" (its value is a duration), "count" -> "count".
std::string metric_label(const std::string& name);
// A metric's value for people: "wait_ns" 1.5e9 -> "1.5s"; 31 -> "31"; 0.25 -> "0.25".
std::string metric_value_text(const std::string& name, double value);

}  // namespace goscope::output
