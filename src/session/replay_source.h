// A trace file as a source: the seed, the events, the verdicts and notes the
// recording stored, in their order; the recording's end (or, when it never ended
// cleanly, one made up from its last event). No process to look at: the verdicts
// that needed its memory are adopted, the rest is judged again.
#pragma once

#include <memory>
#include <string>

#include "tracefile/trace_file.h"
#include "session/source.h"

namespace goscope::session {

class ReplaySource final : public Source {
 public:
  // Opens the trace (a clear error when it is not one, or from a newer goscope).
  static Expected<std::unique_ptr<ReplaySource>> open(const std::string& path);
  ~ReplaySource() override;

  const model::TraceMeta& meta() const { return reader_->meta(); }
  const sym::BuildInfo& build_info() const { return reader_->code()->build_info(); }
  model::StackTable& stacks() { return reader_->stacks(); }
  bool ended_cleanly() const { return reader_->end().has_value(); }
  // What is wrong with the file and where, "" when whole.
  const std::string& damage() const { return reader_->damage(); }
  uint64_t events() const { return reader_->events_read(); }

  const model::StreamInfo& stream() const override { return stream_; }
  std::shared_ptr<const state::StackSymbolizer> symbols() const override { return symbols_; }
  detect::ProcessView* process() override { return nullptr; }
  bool holders_traced() const override { return reader_->meta().holders_traced; }
  bool live() const override { return false; }
  int64_t start_ns() const override { return reader_->meta().start_ns; }
  Expected<void> begin(Receiver&) override { return {}; }
  std::optional<std::string> ended() override;
  Expected<void> pump(Receiver& r, int timeout_ms) override;
  model::TraceEnd finish(Receiver& r, const std::string& reason) override;
  model::TraceCounters counters() const override;

 private:
  ReplaySource() = default;

  std::unique_ptr<tracefile::TraceReader> reader_;
  model::StreamInfo stream_;
  std::shared_ptr<const state::StackSymbolizer> symbols_;
  bool at_end_ = false;
  int64_t last_ns_ = 0;
};

}  // namespace goscope::session
