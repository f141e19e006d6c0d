// The self-contained HTML report `capture` and `export -o x.html` write: one file
// an on-call engineer opens in any browser, offline, months later. Nothing is
// fetched (a Content-Security-Policy forbids it); CSS, script and data are inline.
//
// In order: what was traced (program, PID, Go version, when, how long, probes,
// events seen and lost); the findings, most severe first, with goroutines, stacks,
// objects and where to look; each deadlock's wait-for graph as an SVG drawn here
// (goroutines and objects, "waits for" / "held by" edges, the cycle highlighted);
// a goroutine timeline (lanes of the goroutines blocked longest, colored by state);
// a blocking flamegraph (icicle: widths by delay); the top blocking sites; the
// channels; notes and trace counters. Dark and light themes follow the system, and
// a button switches them (remembered in localStorage).
//
// Findings, tables and graphs are plain HTML and SVG: readable without script. The
// timeline and the flamegraph are drawn by the inline script from JSON embedded in
// the page (escaped so no string in it can end the <script> element). Every text
// from the traced binary is escaped, and bytes that are not UTF-8 become U+FFFD.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "detect/findings.h"
#include "state/state_model.h"
#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "output/pprof.h"
#include "output/timeline.h"
#include "model/recording.h"
#include "symbolizer/buildinfo.h"

namespace goscope::output {

struct HtmlReportInput {
  // Any of these may be null: their parts of the report say they are not available.
  const model::TraceMeta* meta = nullptr;
  const model::TraceEnd* end = nullptr;
  const sym::BuildInfo* build = nullptr;  // the Go version and main module of the traced binary
  const state::StateModel* state = nullptr;
  const state::StackSymbolizer* symbols = nullptr;  // the one the state model and timeline use
  const model::StreamInfo* stream = nullptr;         // wait reason names
  std::span<const detect::Finding> findings;
  std::span<const std::string> notes;  // what could not be judged, in the caller's words
  const Timeline* timeline = nullptr;
  std::span<const Sample> blocking;  // a block profile's samples: values {count, delay_ns}
};

struct HtmlReportOptions {
  size_t max_lanes = 200;               // timeline lanes: the goroutines blocked longest
  size_t max_segments_per_lane = 4000;  // more are merged at this resolution (the lane says so)
  size_t max_sites = 100;               // rows of the blocking sites table
  size_t max_channels = 200;            // rows of the channel table
  size_t max_graph_nodes = 40;          // goroutines and objects drawn in one wait-for graph
  double flame_min_fraction = 0.0005;   // flamegraph frames below this share of the delay are left out
  bool show_runtime = false;            // blocking sites and lanes of the runtime's own goroutines too
};

std::string html_report(const HtmlReportInput& in, const HtmlReportOptions& options = {});

// Writes the report to path, replacing it.
Expected<void> write_html_report(const std::string& path, const HtmlReportInput& in,
                                 const HtmlReportOptions& options = {});

// Text as HTML (also inside attribute values): & < > " ' escaped, bytes that are not
// UTF-8 replaced by U+FFFD. Exposed for tests.
std::string html_text(std::string_view s);

// A JSON value to embed in <script type="application/json">: ASCII only, with < > &
// written as \u003c \u003e \u0026 so "</script>" or "<!--" in a string cannot end
// or change the element. Exposed for tests.
std::string script_json(const nlohmann::json& value);

}  // namespace goscope::output
