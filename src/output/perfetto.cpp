#include "output/perfetto.h"

#include "common/user_files.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "common/hex.h"
#include "output/display.h"

namespace goscope::output {

using state::GoroutineState;

namespace {

// Windows are cut at bucket boundaries: this many buckets over the whole trace.
constexpr int64_t kBuckets = 65536;

// Microseconds since the trace's start, exact to the nanosecond ("1234.567").
std::string micros(int64_t ns) {
  ns = std::max<int64_t>(ns, 0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%03" PRId64, ns / 1000, ns % 1000);
  return buf;
}

const char* flow_name(Flow::Kind k) {
  switch (k) {
    case Flow::Kind::kWake:
      return "wake-up";
    case Flow::Kind::kChannel:
      return "send -> receive";
    case Flow::Kind::kCreate:
      return "go";
  }
  return "?";
}

const char* flow_category(Flow::Kind k) {
  switch (k) {
    case Flow::Kind::kWake:
      return "wake";
    case Flow::Kind::kChannel:
      return "channel";
    case Flow::Kind::kCreate:
      return "create";
  }
  return "?";
}

// One output file: events separated by commas, written as they come.
class PartFile {
 public:
  static Expected<std::unique_ptr<PartFile>> create(const std::string& path) {
    auto f = AtomicUserFile::create(path);
    if (!f) return f.error();
    return std::unique_ptr<PartFile>(new PartFile(std::move(*f)));
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  void raw(std::string_view text) { std::fwrite(text.data(), 1, text.size(), file_.stream()); }
  void event(std::string_view json_object) {
    raw(first_ ? "\n" : ",\n");
    raw(json_object);
    first_ = false;
  }
  // The part appears under its name only once it is complete.
  Expected<void> close() { return file_.commit(); }

 private:
  explicit PartFile(AtomicUserFile f) : file_(std::move(f)) {
    std::setvbuf(file_.stream(), nullptr, _IOFBF, 1 << 20);
  }
  AtomicUserFile file_;
  bool first_ = true;
};

class Writer {
 public:
  Writer(const Timeline& t, const state::StackSymbolizer& symbols, const model::StreamInfo& stream,
         const PerfettoOptions& o)
      : t_(t), symbols_(symbols), stream_(stream), o_(o) {
    for (const GoroutineTrack& track : t_.tracks)
      if (o_.include_runtime || !track.runtime) shown_.emplace(track.goid, &track);
    pid_ = std::to_string(o_.pid);
  }

  Expected<std::vector<std::string>> write(const std::string& path) {
    const std::vector<int64_t> cuts = windows();
    const size_t parts = cuts.size() + 1;
    std::vector<std::string> written;
    for (size_t i = 0; i < parts; i++) {
      const std::string name = i == 0 ? path : part_path(path, i + 1);
      GS_TRY(auto file, PartFile::create(name));
      const int64_t from = i == 0 ? t_.start_ns : cuts[i - 1];
      const bool last = i + 1 == parts;
      const int64_t to = last ? t_.end_ns : cuts[i];
      write_part(*file, from, to, last, i + 1, parts);
      if (auto closed = file->close(); !closed) return closed.take_error();
      written.push_back(name);
    }
    return written;
  }

 private:
  static std::string part_path(const std::string& path, size_t n) {
    const std::filesystem::path p(path);
    const std::string name = p.stem().string() + ".part" + std::to_string(n) + p.extension().string();
    return (p.parent_path() / name).string();
  }

  size_t metadata_events() const { return 1 + 2 * shown_.size(); }

  // Where parts begin (after the first): each window holds at most about
  // max_events_per_file events, counting each event at its start.
  std::vector<int64_t> windows() const {
    const int64_t span = t_.end_ns - t_.start_ns + 1;
    if (span <= 1) return {};
    // Whole nanoseconds per bucket, so that an event counted in a bucket is written in
    // the window holding that bucket.
    const int64_t width = (span + kBuckets - 1) / kBuckets;
    std::vector<uint64_t> counts(static_cast<size_t>((span + width - 1) / width), 0);
    uint64_t total = 0;
    auto add = [&](int64_t time, uint64_t n) {
      const int64_t x = std::clamp<int64_t>(time - t_.start_ns, 0, span - 1);
      counts[static_cast<size_t>(x / width)] += n;
      total += n;
    };
    for (const auto& [goid, track] : shown_)
      for (const Segment& s : track->segments) add(s.start_ns, 1);
    for (const Flow& f : t_.flows)
      if (shown(f)) add(f.from_ns, 2);
    for (const CounterSample& c : t_.counters) add(c.time_ns, 2);
    for (const detect::Finding& f : o_.findings) add(f.detected_ns, 1);

    // Each part also repeats the metadata, a cut piece per track and the counters' level.
    const uint64_t overhead = metadata_events() + shown_.size() + 2;
    const uint64_t bound = o_.max_events_per_file;
    const uint64_t budget = bound > overhead * 2 ? bound - overhead : std::max<uint64_t>(bound / 2, 1);
    if (total + overhead <= bound) return {};
    std::vector<int64_t> cuts;
    uint64_t in_window = 0;
    for (size_t b = 0; b < counts.size(); b++) {
      const uint64_t n = counts[b];
      if (in_window > 0 && in_window + n > budget) {
        cuts.push_back(t_.start_ns + static_cast<int64_t>(b) * width);
        in_window = 0;
      }
      in_window += n;
    }
    return cuts;
  }

  bool shown(const Flow& f) const { return shown_.count(f.from_goid) && shown_.count(f.to_goid); }

  std::string ts(int64_t ns) const { return micros(ns - t_.start_ns); }

  void write_part(PartFile& file, int64_t from, int64_t to, bool last, size_t part, size_t parts) {
    file.raw("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"goscope\",\"part\":\"" +
             std::to_string(part) + " of " + std::to_string(parts) +
             "\",\"trace_start_ns\":" + std::to_string(t_.start_ns) +
             ",\"segments_dropped\":" + std::to_string(t_.segments_dropped) + "},\"traceEvents\":[");
    write_metadata(file);
    // A window is [from, to); the last one also holds what happens at the very end.
    auto inside = [&](int64_t time) { return time >= from && (time < to || (last && time <= to)); };
    for (const auto& [goid, track] : shown_) write_segments(file, *track, from, to, last);
    auto first_flow = std::lower_bound(t_.flows.begin(), t_.flows.end(), from,
                                       [](const Flow& f, int64_t x) { return f.from_ns < x; });
    for (auto it = first_flow; it != t_.flows.end() && inside(it->from_ns); ++it)
      if (shown(*it)) write_flow(file, *it, static_cast<uint64_t>(it - t_.flows.begin()) + 1);
    write_counters(file, from, inside);
    for (const detect::Finding& f : o_.findings) {
      const int64_t at = std::clamp(f.detected_ns, t_.start_ns, t_.end_ns);
      if (inside(at)) write_finding(file, f, at);
    }
    file.raw("\n]}\n");
  }

  void write_metadata(PartFile& file) {
    std::string process = o_.process_name.empty() ? "process" : o_.process_name;
    process += " (pid " + pid_ + ")";
    file.event("{\"ph\":\"M\",\"pid\":" + pid_ +
               ",\"name\":\"process_name\",\"args\":{\"name\":" + json_quote(process) + "}}");
    int64_t rank = 0;
    for (const auto& [goid, track] : shown_) {
      const std::string tid = std::to_string(goid);
      file.event("{\"ph\":\"M\",\"pid\":" + pid_ + ",\"tid\":" + tid +
                 ",\"name\":\"thread_name\",\"args\":{\"name\":" + json_quote(track_name(*track)) + "}}");
      file.event("{\"ph\":\"M\",\"pid\":" + pid_ + ",\"tid\":" + tid +
                 ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" + std::to_string(rank++) + "}}");
    }
  }

  // "G42 main.worker" after its function; "G42 created by main.main" when only its go
  // statement is known. Goroutine 1 runs runtime.main, which calls the program's main.main.
  std::string track_name(const GoroutineTrack& track) const {
    std::string name = "G" + std::to_string(track.goid);
    std::string_view function = track.start_pc ? symbols_.function_at(track.start_pc) : std::string_view();
    if (function == "runtime.main") function = "main.main";
    if (!function.empty()) return name + " " + std::string(function);
    if (track.created_pc) {
      const auto frames = symbols_.frames_at(track.created_pc, true);
      if (!frames.empty() && frames.front().known())
        return name + " created by " + std::string(frames.front().function);
    }
    return name;
  }

  void write_segments(PartFile& file, const GoroutineTrack& track, int64_t from, int64_t to, bool last) {
    const std::string head =
        "{\"ph\":\"X\",\"pid\":" + pid_ + ",\"tid\":" + std::to_string(track.goid) + ",\"ts\":";
    // Segments are in time order and do not overlap: their ends are ordered too.
    auto it = std::lower_bound(track.segments.begin(), track.segments.end(), from,
                               [](const Segment& s, int64_t x) { return s.end_ns < x; });
    for (; it != track.segments.end(); ++it) {
      const Segment& s = *it;
      if (s.start_ns > to || (s.start_ns == to && !last)) break;
      if (s.start_ns < from && s.end_ns <= from) continue;  // ended exactly where this window begins
      const int64_t begin = std::max(s.start_ns, from);
      const int64_t end = last ? s.end_ns : std::min(s.end_ns, to);
      std::string e =
          head + ts(begin) + ",\"dur\":" + micros(end - begin) + ",\"cat\":\"goroutine\",\"name\":";
      e += slice_name(s);
      e += ",\"args\":{\"state\":\"";
      e += state::goroutine_state_name(s.state);
      e += '"';
      if (s.state == GoroutineState::kBlocked) e += blocked_args(s);
      if (begin != s.start_ns || end != s.end_ns) e += ",\"cut\":true";
      e += "}}";
      file.event(e);
    }
  }

  const std::string& slice_name(const Segment& s) {
    if (s.state == GoroutineState::kRunning) return running_;
    if (s.state == GoroutineState::kRunnable) return runnable_;
    auto [it, inserted] = reason_names_.try_emplace(s.wait_reason);
    if (inserted) {
      const std::string_view reason = stream_.wait_reason_name(s.wait_reason);
      it->second = json_quote(reason.empty() ? std::string_view("blocked") : reason);
    }
    return it->second;
  }

  std::string blocked_args(const Segment& s) {
    std::string out;
    if (s.object) {
      out += ",\"object\":\"" + hex_text(s.object) + "\",\"object_kind\":\"";
      out += model::object_kind_name(s.object_kind);
      out += '"';
    }
    auto [it, inserted] = site_args_.try_emplace(s.stack);
    if (inserted) {
      if (const state::CodeFrame* site = symbols_.stack(s.stack).site_frame())
        it->second =
            ",\"site\":" + json_quote(file_line(*site)) + ",\"function\":" + json_quote(site->function);
    }
    return out + it->second;
  }

  void write_flow(PartFile& file, const Flow& f, uint64_t id) {
    std::string common = ",\"id\":" + std::to_string(id) + ",\"pid\":" + pid_ + ",\"cat\":\"" +
                         flow_category(f.kind) + "\",\"name\":\"" + flow_name(f.kind) + "\"";
    if (f.object) common += ",\"args\":{\"object\":\"" + hex_text(f.object) + "\"}";
    file.event("{\"ph\":\"s\",\"tid\":" + std::to_string(f.from_goid) + ",\"ts\":" + ts(f.from_ns) + common +
               "}");
    // "bp":"e": the arrow ends in the slice around its time (the wakee's running slice).
    file.event("{\"ph\":\"f\",\"bp\":\"e\",\"tid\":" + std::to_string(f.to_goid) + ",\"ts\":" + ts(f.to_ns) +
               common + "}");
  }

  template <typename Inside>
  void write_counters(PartFile& file, int64_t from, Inside inside) {
    auto sample = [&](int64_t at, const CounterSample& c) {
      file.event("{\"ph\":\"C\",\"pid\":" + pid_ + ",\"ts\":" + ts(at) +
                 ",\"name\":\"alive\",\"args\":{\"goroutines\":" + std::to_string(c.goroutines) + "}}");
      file.event("{\"ph\":\"C\",\"pid\":" + pid_ + ",\"ts\":" + ts(at) +
                 ",\"name\":\"blocked\",\"args\":{\"goroutines\":" + std::to_string(c.blocked) + "}}");
    };
    auto it = std::lower_bound(t_.counters.begin(), t_.counters.end(), from,
                               [](const CounterSample& c, int64_t x) { return c.time_ns < x; });
    // A later part starts at the level the previous one ended with.
    if (it != t_.counters.begin() && (it == t_.counters.end() || it->time_ns != from))
      sample(from, *(it - 1));
    for (; it != t_.counters.end() && inside(it->time_ns); ++it) sample(it->time_ns, *it);
  }

  void write_finding(PartFile& file, const detect::Finding& f, int64_t at) {
    const detect::RuleInfo& rule = detect::rule_info(f.rule);
    file.event("{\"ph\":\"i\",\"s\":\"g\",\"pid\":" + pid_ + ",\"tid\":0,\"ts\":" + ts(at) +
               ",\"cat\":\"finding\",\"name\":" + json_quote(f.title) + ",\"args\":{\"rule\":\"" + rule.id +
               "\",\"severity\":\"" + detect::severity_name(f.severity) +
               "\",\"message\":" + json_quote(f.message) + "}}");
  }

  const Timeline& t_;
  const state::StackSymbolizer& symbols_;
  const model::StreamInfo& stream_;
  const PerfettoOptions& o_;
  std::map<uint64_t, const GoroutineTrack*> shown_;  // by goid
  std::string pid_;
  const std::string running_ = "\"running\"";
  const std::string runnable_ = "\"runnable\"";
  std::unordered_map<uint32_t, std::string> reason_names_;     // quoted
  std::unordered_map<model::StackId, std::string> site_args_;  // serialized ",\"site\":..."
};

}  // namespace

Expected<std::vector<std::string>> write_perfetto_json(const std::string& path, const Timeline& timeline,
                                                       const state::StackSymbolizer& symbols,
                                                       const model::StreamInfo& stream,
                                                       const PerfettoOptions& options) {
  Writer writer(timeline, symbols, stream, options);
  return writer.write(path);
}

}  // namespace goscope::output
