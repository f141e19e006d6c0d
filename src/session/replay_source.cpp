#include "session/replay_source.h"

#include <algorithm>

namespace goscope::session {

ReplaySource::~ReplaySource() = default;

Expected<std::unique_ptr<ReplaySource>> ReplaySource::open(const std::string& path) {
  std::unique_ptr<ReplaySource> r(new ReplaySource());
  GS_TRY(r->reader_, tracefile::TraceReader::open(path));
  r->stream_ = r->reader_->stream_info();
  r->symbols_ = std::make_shared<state::StackSymbolizer>(r->reader_->code(), r->reader_->stacks());
  r->last_ns_ = r->reader_->meta().start_ns;
  return r;
}

std::optional<std::string> ReplaySource::ended() {
  if (at_end_) return "the trace ended";
  return std::nullopt;
}

Expected<void> ReplaySource::pump(Receiver& r, int) {
  // A part of the file at a time (the session checks for a stop between parts).
  for (int n = 0; n < 65536; n++) {
    const tracefile::TraceReader::Item* item = reader_->next();
    if (!item) {
      at_end_ = true;
      break;
    }
    switch (item->kind) {
      case tracefile::TraceReader::Item::Kind::kSeed:
        r.seed(item->seed, 0, reader_->stacks());
        break;
      case tracefile::TraceReader::Item::Kind::kEvent:
        r.event(item->event);
        last_ns_ = std::max(last_ns_, item->event.time_ns);
        break;
      case tracefile::TraceReader::Item::Kind::kFinding:
        r.verdict(item->finding);
        break;
      case tracefile::TraceReader::Item::Kind::kNote:
        r.note(item->note);
        break;
    }
  }
  return {};
}

model::TraceEnd ReplaySource::finish(Receiver&, const std::string& reason) {
  if (reader_->end()) return *reader_->end();
  model::TraceEnd end;
  end.end_ns = last_ns_;
  end.reason = at_end_ ? "the recording did not end cleanly (recorder killed?): the trace stops at its last event"
                       : reason;
  end.counters.events_seen = reader_->events_read();
  return end;
}

model::TraceCounters ReplaySource::counters() const {
  if (reader_->end()) return reader_->end()->counters;
  model::TraceCounters c;
  c.events_seen = reader_->events_read();
  return c;
}

}  // namespace goscope::session
