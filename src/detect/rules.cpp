#include "detect/rules.h"
#include "common/hex.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <tuple>
#include <utility>

#include "common/duration.h"
#include "detect/locations.h"
#include "model/snapshot.h"

namespace goscope::detect {

using model::Event;
using model::EventKind;

namespace {

// ---- thresholds ----

struct ThresholdKey {
  const char* name = nullptr;
  int64_t RuleThresholds::*duration = nullptr;
  uint64_t RuleThresholds::*count = nullptr;
  double RuleThresholds::*rate = nullptr;
  const char* what = nullptr;
};

const ThresholdKey kThresholdKeys[] = {
    {"long-block", &RuleThresholds::long_block_ns, nullptr, nullptr,
     "GS301: longest single blocking interval at one site"},
    {"contention-total", &RuleThresholds::contention_total_ns, nullptr, nullptr,
     "GS302: total wait for one mutex"},
    {"contention-max", &RuleThresholds::contention_max_ns, nullptr, nullptr,
     "GS302: longest single wait for one mutex"},
    {"sched-latency", &RuleThresholds::sched_latency_ns, nullptr, nullptr,
     "GS303: p99 of the time from runnable to running"},
    {"sched-samples", nullptr, &RuleThresholds::sched_samples, nullptr,
     "GS303: fewest wake-ups measured before judging"},
    {"growth-window", &RuleThresholds::growth_window_ns, nullptr, nullptr,
     "GS202: shortest span of goroutine count samples"},
    {"growth-rate", nullptr, nullptr, &RuleThresholds::growth_rate_per_s,
     "GS202: least-squares growth, goroutines per second"},
    {"growth-min", nullptr, &RuleThresholds::growth_min, nullptr, "GS202: net growth, goroutines"},
    {"stw-max", &RuleThresholds::stw_max_ns, nullptr, nullptr, "GS304: longest stop-the-world pause"},
    {"stw-total", &RuleThresholds::stw_total_ns, nullptr, nullptr, "GS304: total of the pauses"},
};

std::string known_keys() {
  std::string s;
  for (const auto& k : kThresholdKeys) {
    if (!s.empty()) s += ", ";
    s += k.name;
  }
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Expected<void> apply_threshold(std::string_view item, RuleThresholds& t) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos)
    return make_error("invalid threshold '" + std::string(item) + "': use KEY=VALUE, e.g. long-block=2s");
  const std::string_view name = trim(item.substr(0, eq));
  const std::string_view value = trim(item.substr(eq + 1));
  const ThresholdKey* key = nullptr;
  for (const auto& k : kThresholdKeys)
    if (name == k.name) key = &k;
  if (!key) return make_error("unknown threshold '" + std::string(name) + "': known are " + known_keys());
  const std::string context = "threshold " + std::string(name) + ": ";
  if (key->duration) {
    auto d = parse_duration(value);
    if (!d) return make_error(context + d.error().message);
    t.*key->duration = d->count();
  } else if (key->count) {
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n == 0)
      return make_error(context + "invalid count '" + std::string(value) + "': use a positive whole number");
    t.*key->count = n;
  } else {
    std::string number(value);
    if (number.ends_with("/s")) number.resize(number.size() - 2);
    char* end = nullptr;
    const double r = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(r) || r <= 0)
      return make_error(context + "invalid rate '" + std::string(value) +
                        "': use a positive number of goroutines per second, e.g. 2 or 0.5");
    t.*key->rate = r;
  }
  return {};
}

// ---- text ----

std::string hex(uint64_t v) {
  return hex_text(v);
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string_view base_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "main.worker (main.go:42)"; "an unknown place" when only runtime frames were there.
std::string site_text(const state::CodeFrame& f) {
  if (!f.known()) return "an unknown place";
  std::string s(f.function);
  if (!f.file.empty()) s += " (" + std::string(base_name(f.file)) + ":" + std::to_string(f.line) + ")";
  return s;
}

std::string site_key(const state::CodeFrame& f) {
  if (!f.known()) return "?";
  return std::string(f.function) + "@" + std::string(f.file) + ":" + std::to_string(f.line);
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string reason_name(const state::StateModel& model, uint32_t reason) {
  const auto& names = model.symbols().code().wait_reasons();
  if (reason < names.size() && !names[reason].empty()) return names[reason];
  return "wait reason " + std::to_string(reason);
}

std::string mutex_name(const state::MutexInfo& m) {
  return std::string(m.kind == model::ObjectKind::kRWMutex ? "sync.RWMutex " : "sync.Mutex ") +
         hex(m.address);
}

Finding make_finding(Rule rule, int64_t now_ns) {
  Finding f;
  f.rule = rule;
  f.severity = rule_info(rule).default_severity;
  f.confidence = Confidence::kCertain;
  f.detected_ns = now_ns;
  f.suggestion = rule_info(rule).help;
  return f;
}

std::optional<Location> creation_site(const state::StateModel& model, uint64_t created_pc) {
  if (!created_pc) return std::nullopt;
  const auto frames = model.symbols().frames_at(created_pc, true);
  if (frames.empty() || !frames.front().known()) return std::nullopt;
  return to_location(frames.front());
}

// A goroutine as findings show it.
FindingGoroutine describe(const state::StateModel& model, const state::GoroutineInfo& g, int64_t now_ns) {
  constexpr size_t kMaxFrames = 32;
  FindingGoroutine fg;
  fg.goid = g.goid;
  fg.state = state::goroutine_state_name(g.state);
  if (g.state == state::GoroutineState::kBlocked) {
    fg.wait_reason = reason_name(model, g.wait_reason);
    for (const auto& o : g.waiting_on)
      if (o.address) fg.waits_on.push_back(o.address);
    fg.blocked_ns = std::max<int64_t>(0, now_ns - g.since_ns);
    fg.since_exact = g.since_exact;
  }
  const state::SymbolizedStack& stack = model.symbols().stack(g.park_stack);
  if (const state::CodeFrame* site = stack.site_frame()) fg.site = to_location(*site);
  fg.stack = to_locations(stack, kMaxFrames);
  fg.created_at = creation_site(model, g.created_pc);
  fg.parent_goid = g.parent_goid;
  return fg;
}

bool same_site(const state::CodeFrame& a, const state::CodeFrame& b) {
  return a.function == b.function && a.file == b.file && a.line == b.line;
}

}  // namespace

Expected<RuleThresholds> parse_thresholds(std::span<const std::string> specs, RuleThresholds base) {
  for (const std::string& spec : specs) {
    std::string_view rest = spec;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.empty()) continue;
      GS_CHECK(apply_threshold(item, base));
    }
  }
  return base;
}

std::string thresholds_help(const RuleThresholds& t) {
  std::string out;
  for (const auto& k : kThresholdKeys) {
    std::string setting = std::string(k.name) + "=";
    if (k.duration)
      setting += duration_text(t.*k.duration);
    else if (k.count)
      setting += std::to_string(t.*k.count);
    else
      setting += number_text(t.*k.rate);
    setting.resize(std::max<size_t>(setting.size() + 2, 22), ' ');
    out += setting + k.what + "\n";
  }
  return out;
}

bool counts_as_long_blocking(std::string_view wait_reason) {
  // The program's own synchronisation. `select {}` blocks on purpose; the "synctest"
  // reasons are a test harness's; everything else is I/O, timers, GC or the runtime.
  const std::string_view r = wait_reason;
  if (r == "select (no cases)") return false;
  return r.starts_with("chan ") || r.starts_with("select") || r.starts_with("sync.") || r == "semacquire";
}

// ---- LatencyHistogram ----

int LatencyHistogram::bucket_of(uint64_t ns) {
  constexpr uint64_t kSub = 1u << kSubBits;
  if (ns < kSub) return static_cast<int>(ns);
  const int msb = 63 - std::countl_zero(ns);
  const int shift = msb - kSubBits;
  return ((shift + 1) << kSubBits) + static_cast<int>((ns >> shift) & (kSub - 1));
}

uint64_t LatencyHistogram::bucket_low(int bucket) {
  constexpr int kSub = 1 << kSubBits;
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  const int shift = (bucket >> kSubBits) - 1;
  return static_cast<uint64_t>(kSub + (bucket & (kSub - 1))) << shift;
}

void LatencyHistogram::add(int64_t ns) {
  ns = std::max<int64_t>(0, ns);
  counts_[bucket_of(static_cast<uint64_t>(ns))]++;
  min_ = count_ == 0 ? ns : std::min(min_, ns);
  max_ = std::max(max_, ns);
  total_ += ns;
  count_++;
}

int64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank =
      std::clamp<uint64_t>(static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))), 1, count_);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; b++) {
    seen += counts_[b];
    if (seen < rank) continue;
    const uint64_t low = bucket_low(b);
    const uint64_t width = bucket_low(b + 1) - low;
    const uint64_t middle = std::min<uint64_t>(low + width / 2, static_cast<uint64_t>(max_));
    return std::max(static_cast<int64_t>(middle), min_);
  }
  return max_;
}

// ---- RulesEngine ----

void RulesEngine::WaitTotals::add(int64_t ns) {
  count++;
  total_ns += ns;
  max_ns = std::max(max_ns, ns);
}

RulesEngine::RulesEngine(RuleThresholds thresholds) : thresholds_(thresholds) {}

void RulesEngine::apply(const Event& e) {
  const int64_t t = e.time_ns;
  switch (e.kind) {
    case EventKind::kGoCreate:
      // The new goroutine has not run yet; its parent has.
      if (e.other_goid) acted(e.other_goid, e);
      return;
    case EventKind::kReady:
      if (e.goid) acted(e.goid, e);
      if (e.other_goid && !runnable_.contains(e.other_goid) && runnable_.size() < kMaxRunnable)
        runnable_[e.other_goid] = {t, false};
      return;
    case EventKind::kStatus:
      status(e);
      return;
    case EventKind::kMutexLock:
      if ((e.flags & model::kContended) && e.object && e.begin_ns > 0)
        mutex_waits_[e.object][e.stack].add(std::max<int64_t>(0, t - e.begin_ns));
      break;
    case EventKind::kStopTheWorld:
      // A stop without its start (lost) is replaced by this one.
      world_stopped_ = true;
      stopped_at_ns_ = t;
      stop_reason_ = e.value;
      break;
    case EventKind::kStartTheWorld:
      if (world_stopped_) {
        const int64_t d = std::max<int64_t>(0, t - stopped_at_ns_);
        Pause& p = pauses_[stop_reason_];
        p.count++;
        p.total_ns += d;
        p.max_ns = std::max(p.max_ns, d);
        world_stopped_ = false;
      }
      break;
    default:
      break;
  }
  if (e.goid) acted(e.goid, e);
}

void RulesEngine::acted(uint64_t goid, const Event& e) {
  auto it = runnable_.find(goid);
  if (it == runnable_.end()) return;
  const Runnable r = it->second;
  runnable_.erase(it);
  // With the scheduler view the status change measures it; this is a straggler.
  if (r.from_status || status_seen_) return;
  // The return of the operation the goroutine was parked in follows its start at once;
  // any later event may follow a long run of untraced work.
  if (e.begin_ns > 0 && e.begin_ns <= r.since_ns)
    add_latency(bounded_latency_, goid, std::max<int64_t>(0, e.time_ns - r.since_ns));
  else
    bounds_skipped_++;
}

void RulesEngine::status(const Event& e) {
  status_seen_ = true;
  if (e.other_goid && e.other_goid != e.goid) acted(e.other_goid, e);
  if (!e.goid) return;
  const uint32_t from = static_cast<uint32_t>(static_cast<uint64_t>(e.value) >> 32) & ~model::kGScanBit;
  const uint32_t to = static_cast<uint32_t>(e.value) & ~model::kGScanBit;
  if (to == static_cast<uint32_t>(model::GStatus::kRunnable)) {
    if (runnable_.size() < kMaxRunnable || runnable_.contains(e.goid)) runnable_[e.goid] = {e.time_ns, true};
    return;
  }
  auto it = runnable_.find(e.goid);
  if (it == runnable_.end()) return;
  if (to == static_cast<uint32_t>(model::GStatus::kRunning) &&
      from == static_cast<uint32_t>(model::GStatus::kRunnable))
    add_latency(exact_latency_, e.goid, std::max<int64_t>(0, e.time_ns - it->second.since_ns));
  runnable_.erase(it);
}

void RulesEngine::add_latency(LatencyHistogram& h, uint64_t goid, int64_t ns) {
  if (ns >= h.max() || h.count() == 0)
    (&h == &exact_latency_ ? exact_worst_goid_ : bounded_worst_goid_) = goid;
  h.add(ns);
}

void RulesEngine::sample(int64_t now_ns, const state::StateModel& model) {
  const state::GoroutineCounts c = model.counts();
  counts_.push_back({now_ns, c.alive - std::min(c.alive, c.runtime)});
  if (counts_.size() <= kMaxCountSamples) return;
  // Every other sample, the last one kept: the same line, half the points.
  std::vector<CountSample> thinned;
  thinned.reserve(counts_.size() / 2 + 1);
  for (size_t i = 0; i < counts_.size(); i += 2) thinned.push_back(counts_[i]);
  if ((counts_.size() - 1) % 2 != 0) thinned.push_back(counts_.back());
  counts_ = std::move(thinned);
}

std::vector<Finding> RulesEngine::evaluate(const state::StateModel& model, int64_t now_ns) const {
  std::vector<Finding> out;
  goroutine_growth(model, now_ns, out);
  long_blocking(model, now_ns, out);
  mutex_contention(model, now_ns, out);
  scheduling_latency(model, now_ns, out);
  stop_the_world(now_ns, out);
  return out;
}

void RulesEngine::long_blocking(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const {
  constexpr size_t kMaxGoroutines = 5;
  std::vector<const state::GoroutineInfo*> blocked;  // filled when the first finding needs them
  bool blocked_listed = false;
  for (const state::SiteBlocking& s : model.blocking_by_site(now_ns)) {
    if (s.totals.max_ns < thresholds_.long_block_ns) continue;
    const std::string reason = reason_name(model, s.wait_reason);
    if (!counts_as_long_blocking(reason)) continue;
    if (state::is_system_goroutine(model.symbols().stack(s.example_stack).start_function)) continue;

    if (!blocked_listed) {
      for (const state::GoroutineInfo* g : model.goroutines())
        if (g->state == state::GoroutineState::kBlocked && !g->runtime) blocked.push_back(g);
      blocked_listed = true;
    }
    Finding f = make_finding(Rule::kLongBlocking, now_ns);
    const std::string where = site_text(s.site);
    const state::BlockingTotals& t = s.totals;
    f.title = "Blocked up to " + duration_text(t.max_ns) + " on " + reason + " at " + where;
    f.message = plural(t.count, "wait", "waits") + " on " + reason + " at " + where + " took " +
                duration_text(t.total_ns) + " in total; the longest lasted " + duration_text(t.max_ns) +
                " (threshold long-block=" + duration_text(thresholds_.long_block_ns) + ").";
    // The goroutines still blocked there, longest first.
    std::vector<const state::GoroutineInfo*> here;
    for (const state::GoroutineInfo* g : blocked) {
      if (g->wait_reason != s.wait_reason) continue;
      const state::CodeFrame* site = model.symbols().stack(g->park_stack).site_frame();
      if (site ? same_site(*site, s.site) : !s.site.known()) here.push_back(g);
    }
    std::sort(here.begin(), here.end(), [](const state::GoroutineInfo* a, const state::GoroutineInfo* b) {
      return std::tie(a->since_ns, a->goid) < std::tie(b->since_ns, b->goid);
    });
    if (t.ongoing > 0) {
      f.message += " " + plural(t.ongoing, "goroutine is", "goroutines are") + " still blocked there";
      if (!here.empty())
        f.message += ", goroutine " + std::to_string(here.front()->goid) + " for " +
                     duration_text(std::max<int64_t>(0, now_ns - here.front()->since_ns)) +
                     (here.front()->since_exact ? "" : " at least");
      f.message += ".";
    }
    if (!here.empty()) f.since_ns = here.front()->since_ns;
    for (size_t i = 0; i < here.size() && i < kMaxGoroutines; i++)
      f.goroutines.push_back(describe(model, *here[i], now_ns));
    if (s.site.known()) {
      f.location = to_location(s.site);
      f.suggestion += " Look at what should wake the goroutines blocked at " + where + " on " + reason +
                      ", and why it comes late or never.";
    }
    f.key = "GS301:" + site_key(s.site) + ":" + reason;
    f.metrics = {{"count", static_cast<double>(t.count)},
                 {"total_ns", static_cast<double>(t.total_ns)},
                 {"max_ns", static_cast<double>(t.max_ns)},
                 {"ongoing", static_cast<double>(t.ongoing)}};
    out.push_back(std::move(f));
  }
}

void RulesEngine::mutex_contention(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const {
  struct SiteWait {
    state::CodeFrame site;
    WaitTotals totals;
  };
  std::vector<std::pair<int64_t, Finding>> found;  // by total wait
  for (const auto& [address, m] : model.mutexes()) {
    if (m.wait_total_ns < thresholds_.contention_total_ns && m.wait_max_ns < thresholds_.contention_max_ns)
      continue;
    // The contended lock calls of this mutex, by site.
    std::vector<SiteWait> sites;
    if (auto it = mutex_waits_.find(address); it != mutex_waits_.end()) {
      for (const auto& [stack, w] : it->second) {
        const state::CodeFrame* frame = model.symbols().stack(stack).site_frame();
        const state::CodeFrame site = frame ? *frame : state::CodeFrame{};
        auto same = std::find_if(sites.begin(), sites.end(),
                                 [&](const SiteWait& x) { return same_site(x.site, site); });
        if (same == sites.end()) same = sites.insert(sites.end(), {site, {}});
        same->totals.count += w.count;
        same->totals.total_ns += w.total_ns;
        same->totals.max_ns = std::max(same->totals.max_ns, w.max_ns);
      }
    }
    std::sort(sites.begin(), sites.end(), [](const SiteWait& a, const SiteWait& b) {
      if (a.totals.total_ns != b.totals.total_ns) return a.totals.total_ns > b.totals.total_ns;
      return std::tie(a.site.function, a.site.line) < std::tie(b.site.function, b.site.line);
    });

    Finding f = make_finding(Rule::kMutexContention, now_ns);
    const std::string name = mutex_name(m);
    const double ratio =
        m.acquisitions ? static_cast<double>(m.contended) / static_cast<double>(m.acquisitions) : 0;
    f.title = "Waited " + duration_text(m.wait_total_ns) + " in total for " + name + " (longest " +
              duration_text(m.wait_max_ns) + ", " + plural(m.contended, "contended lock", "contended locks") +
              ")";
    f.message = "Goroutines waited " + duration_text(m.wait_total_ns) + " in total for " + name + ": " +
                std::to_string(m.contended) + " of " + plural(m.acquisitions, "acquisition", "acquisitions") +
                " seen had to wait, the longest " + duration_text(m.wait_max_ns) +
                " (thresholds contention-total=" + duration_text(thresholds_.contention_total_ns) +
                ", contention-max=" + duration_text(thresholds_.contention_max_ns) + ").";
    if (!sites.empty()) {
      f.message += " Where they waited:";
      for (size_t i = 0; i < sites.size() && i < 3; i++)
        f.message += std::string(i ? ";" : "") + " " + site_text(sites[i].site) + " " +
                     duration_text(sites[i].totals.total_ns) + " over " +
                     plural(sites[i].totals.count, "wait", "waits");
      if (sites.size() > 3) f.message += "; and " + plural(sites.size() - 3, "other place", "other places");
      f.message += ".";
      if (sites.front().site.known()) {
        f.location = to_location(sites.front().site);
        f.suggestion += " Start with the critical sections entered at " + site_text(sites.front().site) + ".";
      }
    }
    FindingObject o;
    o.address = address;
    o.kind = m.kind;
    o.name = name;
    o.detail = std::to_string(m.contended) + " of " + std::to_string(m.acquisitions) +
               " acquisitions waited, " + duration_text(m.wait_total_ns) + " in total";
    if (m.holder) o.held_by.push_back(m.holder);
    f.objects.push_back(std::move(o));
    f.key = "GS302:" + hex(address);
    f.metrics = {{"acquisitions", static_cast<double>(m.acquisitions)},
                 {"contended", static_cast<double>(m.contended)},
                 {"wait_total_ns", static_cast<double>(m.wait_total_ns)},
                 {"wait_max_ns", static_cast<double>(m.wait_max_ns)},
                 {"contended_ratio", ratio}};
    found.emplace_back(m.wait_total_ns, std::move(f));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return a.second.key < b.second.key;
  });
  for (auto& [total, f] : found) out.push_back(std::move(f));
}

void RulesEngine::scheduling_latency(const state::StateModel& model, int64_t now_ns,
                                     std::vector<Finding>& out) const {
  const bool exact = status_seen_;
  const LatencyHistogram& h = exact ? exact_latency_ : bounded_latency_;
  if (h.count() < thresholds_.sched_samples) return;
  const int64_t p50 = h.quantile(0.5);
  const int64_t p99 = h.quantile(0.99);
  if (p99 < thresholds_.sched_latency_ns) return;
  const uint64_t worst = exact ? exact_worst_goid_ : bounded_worst_goid_;

  Finding f = make_finding(Rule::kSchedulingLatency, now_ns);
  f.title = "Scheduling latency p99 " + duration_text(p99) + " over " +
            plural(h.count(), "wake-up", "wake-ups") + " (longest " + duration_text(h.max()) +
            (exact ? ")" : ", upper bounds)");
  f.message = "Runnable goroutines waited for a CPU: p50 " + duration_text(p50) + ", p99 " +
              duration_text(p99) + ", longest " + duration_text(h.max()) + " (goroutine " +
              std::to_string(worst) + "), over " + plural(h.count(), "wake-up", "wake-ups") +
              " (threshold sched-latency=" + duration_text(thresholds_.sched_latency_ns) + " at p99). ";
  if (exact) {
    f.message += "Exact: measured from the scheduler's status changes, runnable to running.";
  } else {
    f.message +=
        "Upper bounds: from the wake-up to the return of the operation the goroutine was parked in (" +
        plural(bounds_skipped_, "wake-up", "wake-ups") +
        " whose next event came later were not counted). The scheduler view (status events) measures it "
        "exactly.";
    f.confidence = Confidence::kLikely;
    f.confidence_reason =
        "the latencies are upper bounds: the time from a wake-up to the goroutine's next traced event";
  }
  if (const state::GoroutineInfo* g = worst ? model.goroutine(worst) : nullptr) {
    f.goroutines.push_back(describe(model, *g, now_ns));
    if (f.goroutines.back().created_at) f.location = f.goroutines.back().created_at;
  }
  f.key = "GS303";
  f.metrics = {{"samples", static_cast<double>(h.count())},
               {"p50_ns", static_cast<double>(p50)},
               {"p99_ns", static_cast<double>(p99)},
               {"max_ns", static_cast<double>(h.max())},
               {"exact", exact ? 1.0 : 0.0}};
  if (!exact) f.metrics["skipped"] = static_cast<double>(bounds_skipped_);
  out.push_back(std::move(f));
}

void RulesEngine::goroutine_growth(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const {
  constexpr size_t kMinSamples = 5;
  if (counts_.size() < kMinSamples) return;
  const CountSample& first = counts_.front();
  const CountSample& last = counts_.back();
  const int64_t span = last.time_ns - first.time_ns;
  if (span < thresholds_.growth_window_ns || span <= 0) return;

  double mean_x = 0, mean_y = 0;
  uint64_t max = 0;
  for (const CountSample& c : counts_) {
    mean_x += static_cast<double>(c.time_ns - first.time_ns) / 1e9;
    mean_y += static_cast<double>(c.alive);
    max = std::max(max, c.alive);
  }
  const double n = static_cast<double>(counts_.size());
  mean_x /= n;
  mean_y /= n;
  double sxy = 0, sxx = 0;
  for (const CountSample& c : counts_) {
    const double dx = static_cast<double>(c.time_ns - first.time_ns) / 1e9 - mean_x;
    sxy += dx * (static_cast<double>(c.alive) - mean_y);
    sxx += dx * dx;
  }
  if (sxx <= 0) return;
  const double slope = sxy / sxx;
  const int64_t growth = static_cast<int64_t>(last.alive) - static_cast<int64_t>(first.alive);
  if (slope < thresholds_.growth_rate_per_s || growth < static_cast<int64_t>(thresholds_.growth_min) ||
      static_cast<double>(last.alive) < 0.9 * static_cast<double>(max))
    return;

  // The creation site with the most live goroutines.
  std::map<uint64_t, uint64_t> by_pc;
  for (const state::GoroutineInfo* g : model.goroutines())
    if (g->state != state::GoroutineState::kExited && !g->runtime && g->created_pc) by_pc[g->created_pc]++;
  struct Site {
    state::CodeFrame frame;
    uint64_t alive = 0;
  };
  std::vector<Site> sites;
  for (const auto& [pc, alive] : by_pc) {
    const auto frames = model.symbols().frames_at(pc, true);
    if (frames.empty() || !frames.front().known()) continue;
    auto same = std::find_if(sites.begin(), sites.end(),
                             [&](const Site& s) { return same_site(s.frame, frames.front()); });
    if (same == sites.end()) same = sites.insert(sites.end(), {frames.front(), 0});
    same->alive += alive;
  }
  const auto top = std::max_element(sites.begin(), sites.end(), [](const Site& a, const Site& b) {
    return std::tie(a.alive, b.frame.function) < std::tie(b.alive, a.frame.function);
  });

  Finding f = make_finding(Rule::kGoroutineGrowth, now_ns);
  f.title = "Goroutine count grew from " + std::to_string(first.alive) + " to " + std::to_string(last.alive) +
            " in " + duration_text(span) + " (+" + number_text(slope) + "/s)";
  f.message = "The program's goroutines went from " + std::to_string(first.alive) + " to " +
              std::to_string(last.alive) + " (highest " + std::to_string(max) + ") over " +
              duration_text(span) + ", " + number_text(slope) +
              " more per second by a least-squares fit of " + plural(counts_.size(), "sample", "samples") +
              " (thresholds growth-rate=" + number_text(thresholds_.growth_rate_per_s) +
              ", growth-min=" + std::to_string(thresholds_.growth_min) + ").";
  if (top != sites.end()) {
    f.message += " " + std::to_string(top->alive) + " of the live goroutines were created at " +
                 site_text(top->frame) + ".";
    f.location = to_location(top->frame);
    f.suggestion += " Check that every goroutine started at " + site_text(top->frame) +
                    " has a way to return (a closed channel, a cancelled context).";
  }
  f.since_ns = first.time_ns;
  f.key = "GS202";
  f.metrics = {{"start", static_cast<double>(first.alive)},
               {"end", static_cast<double>(last.alive)},
               {"max", static_cast<double>(max)},
               {"slope_per_s", slope},
               {"samples", n},
               {"window_ns", static_cast<double>(span)}};
  if (top != sites.end()) f.metrics["at_site"] = static_cast<double>(top->alive);
  out.push_back(std::move(f));
}

void RulesEngine::stop_the_world(int64_t now_ns, std::vector<Finding>& out) const {
  std::map<int64_t, Pause> pauses = pauses_;
  if (world_stopped_) {  // still stopped: it counts so far
    const int64_t d = std::max<int64_t>(0, now_ns - stopped_at_ns_);
    Pause& p = pauses[stop_reason_];
    p.count++;
    p.total_ns += d;
    p.max_ns = std::max(p.max_ns, d);
  }
  Pause all;
  for (const auto& [reason, p] : pauses) {
    all.count += p.count;
    all.total_ns += p.total_ns;
    all.max_ns = std::max(all.max_ns, p.max_ns);
  }
  if (all.count == 0 || (all.max_ns < thresholds_.stw_max_ns && all.total_ns < thresholds_.stw_total_ns))
    return;

  Finding f = make_finding(Rule::kStopTheWorld, now_ns);
  f.title = "Stop-the-world pauses up to " + duration_text(all.max_ns) + " (" + duration_text(all.total_ns) +
            " in total over " + plural(all.count, "pause", "pauses") + ")";
  f.message = "Every goroutine stood still " + duration_text(all.total_ns) + " in total over " +
              plural(all.count, "stop-the-world pause", "stop-the-world pauses") + ", the longest " +
              duration_text(all.max_ns) + " (thresholds stw-max=" + duration_text(thresholds_.stw_max_ns) +
              ", stw-total=" + duration_text(thresholds_.stw_total_ns) + "). By reason code:";
  bool first = true;
  for (const auto& [reason, p] : pauses) {
    f.message += std::string(first ? " " : "; ") +
                 (reason < 0 ? std::string("unknown") : std::to_string(reason)) + ": " +
                 plural(p.count, "pause", "pauses") + ", " + duration_text(p.total_ns) + ", longest " +
                 duration_text(p.max_ns);
    first = false;
  }
  f.message += ".";
  if (world_stopped_) f.message += " The world is still stopped.";
  f.suggestion +=
      " A long pause often waited for a goroutine running code that could not be preempted "
      "at once. Frequent pauses come from garbage collection (fewer allocations or a larger "
      "GOGC make it rarer) or from calls such as runtime.GC, runtime.ReadMemStats and "
      "goroutine profiles.";
  f.key = "GS304";
  f.metrics = {{"pauses", static_cast<double>(all.count)},
               {"total_ns", static_cast<double>(all.total_ns)},
               {"max_ns", static_cast<double>(all.max_ns)}};
  out.push_back(std::move(f));
}

}  // namespace goscope::detect
