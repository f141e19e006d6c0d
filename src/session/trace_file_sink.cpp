#include "session/trace_file_sink.h"

namespace goscope::session {

void TraceFileSink::store(const detect::Finding& f) {
  if (detect::rule_info(f.rule).analysis != detect::Analysis::kWaitForGraph) return;
  auto [it, fresh] = stored_.try_emplace(f.key, f.goroutines.size());
  if (!fresh && f.goroutines.size() <= it->second) return;
  it->second = f.goroutines.size();
  keep(w_.finding(f));
}

void TraceFileSink::on_seed(Session&, const model::ProcessSnapshot& snapshot, uint64_t load_bias) {
  keep(w_.seed(snapshot, load_bias));
}

void TraceFileSink::on_event(Session&, const model::Event& e) {
  if (error_) return;
  keep(w_.event(e));
}

void TraceFileSink::on_second(Session&, int64_t, const std::vector<detect::Finding>& fresh) {
  for (const auto& f : fresh) store(f);
  if (!error_) keep(w_.flush());
}

void TraceFileSink::on_end(Session& s) {
  for (const auto& f : s.findings()) store(f);
  for (const auto& n : s.notes()) keep(w_.note(n));
  keep(w_.close(s.end()));
}

}  // namespace goscope::session
