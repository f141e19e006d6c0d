#include "session/console_sinks.h"

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "output/findings_report.h"

namespace goscope::session {

void EventLines::check(Session& s) {
  // EINTR: a write blocked on a full pipe was interrupted by Ctrl-C / SIGTERM, which
  // only ask goscope to stop: not a failure of the output.
  if (std::ferror(out_) && errno == EINTR) std::clearerr(out_);
  if (error_.empty() && std::ferror(out_)) {
    error_ = "cannot write " + name_ + ": " + std::strerror(errno ? errno : EIO);
    s.stop(error_);
  }
}

void EventLines::on_event(Session& s, const model::Event& e) {
  if (quiet_ || !error_.empty() || !filter_.accepts(e)) return;
  printed_++;
  const std::string line = json_ ? format_.json_text(e, s.start_ns()) : format_.text(e, s.start_ns());
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fputc('\n', out_);
  check(s);
}

void EventLines::on_second(Session& s, int64_t, const std::vector<detect::Finding>&) {
  if (error_.empty()) std::fflush(out_);  // a closed reader shows within a second
  check(s);
}

void EventLines::on_end(Session& s) {
  if (error_.empty()) std::fflush(out_);
  check(s);
}

void FindingsAsFound::on_second(Session&, int64_t, const std::vector<detect::Finding>& fresh) {
  if (fresh.empty()) return;
  std::fprintf(out_, "goscope: found while %s:\n", verb_.c_str());
  output::print_findings(out_, fresh, color_);
}

void LossWarnings::report(uint64_t lost) {
  if (lost <= reported_) return;
  std::fprintf(out_,
               "goscope: WARNING: %" PRIu64
               " events lost (ring buffer full); a larger --buffer-size or fewer probes (no --all-ops) helps\n",
               lost - reported_);
  reported_ = lost;
}

void LossWarnings::on_second(Session& s, int64_t, const std::vector<detect::Finding>&) {
  report(s.source().counters().ringbuf_full);
}

void LossWarnings::on_end(Session& s) {
  report(s.end().counters.ringbuf_full);
}

}  // namespace goscope::session
