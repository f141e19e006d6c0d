#include "output/trace_summary.h"

#include <algorithm>
#include <cinttypes>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "output/display.h"

namespace goscope::output {

using state::GoroutineInfo;
using state::GoroutineState;

namespace {

constexpr size_t kGoidsShown = 6;  // goroutine ids listed per group in text

constexpr const char* kBold = "\033[1m";
constexpr const char* kLoud = "\033[1;31m";  // bold red
constexpr const char* kReset = "\033[0m";

// Goroutines blocked at the same site for the same reason: one row (like `dump --group`).
struct BlockedGroup {
  uint32_t reason = 0;
  model::StackId stack = 0;                   // the first member's park stack
  std::vector<const GoroutineInfo*> members;  // longest blocked first
  int64_t longest_ns = 0;
  int64_t shortest_ns = 0;
  bool exact = true;                      // every member's start is known (else: blocked at least that long)
  std::vector<model::ObjectRef> objects;  // distinct objects waited on, first seen first
};

struct Channels {
  std::vector<const state::ChannelInfo*> busiest;  // by operations
  bool has_operations = false;                      // send / receive counts exist (every operation is traced)
  uint64_t made = 0;
  uint64_t closed = 0;
};

struct Summary {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  state::GoroutineCounts goroutines;
  std::vector<BlockedGroup> blocked;
  uint64_t blocked_count = 0;
  uint64_t blocked_runtime_hidden = 0;
  std::vector<state::SiteBlocking> sites;
  std::vector<state::ReasonBlocking> reasons;  // over `sites`
  std::vector<const state::MutexInfo*> mutexes;
  Channels channels;
};

uint64_t operations(const state::ChannelInfo& c) {
  return c.sends + c.recvs + c.recvs_closed + c.closes;
}

int64_t blocked_for(const GoroutineInfo& g, int64_t now_ns) {
  return std::max<int64_t>(0, now_ns - g.since_ns);
}

std::vector<BlockedGroup> group_blocked(const state::StateModel& state, const Summary& s, bool show_runtime,
                                        uint64_t& count, uint64_t& hidden) {
  using Key = std::tuple<uint32_t, std::string_view, std::string_view, int>;
  std::map<Key, BlockedGroup> groups;
  for (const GoroutineInfo* g : state.goroutines()) {
    if (g->state != GoroutineState::kBlocked) continue;
    if (g->runtime && !show_runtime) {
      hidden++;
      continue;
    }
    count++;
    const state::CodeFrame* site = state.symbols().stack(g->park_stack).site_frame();
    const Key key{g->wait_reason, site ? site->function : "", site ? site->file : "", site ? site->line : 0};
    BlockedGroup& group = groups[key];
    group.reason = g->wait_reason;
    if (group.members.empty()) group.stack = g->park_stack;
    group.members.push_back(g);
  }
  std::vector<BlockedGroup> out;
  for (auto& [key, group] : groups) {
    std::stable_sort(group.members.begin(), group.members.end(), [&](const auto* a, const auto* b) {
      return blocked_for(*a, s.end_ns) > blocked_for(*b, s.end_ns);
    });
    group.longest_ns = blocked_for(*group.members.front(), s.end_ns);
    group.shortest_ns = blocked_for(*group.members.back(), s.end_ns);
    for (const GoroutineInfo* g : group.members) {
      group.exact = group.exact && g->since_exact;
      for (const auto& o : g->waiting_on) {
        const bool seen = std::any_of(group.objects.begin(), group.objects.end(),
                                      [&](const model::ObjectRef& x) { return x.address == o.address; });
        if (!seen) group.objects.push_back(o);
      }
    }
    out.push_back(std::move(group));
  }
  std::stable_sort(out.begin(), out.end(), [](const BlockedGroup& a, const BlockedGroup& b) {
    if (a.longest_ns != b.longest_ns) return a.longest_ns > b.longest_ns;
    if (a.members.size() != b.members.size()) return a.members.size() > b.members.size();
    return a.members.front()->goid < b.members.front()->goid;
  });
  return out;
}

Summary collect(const state::StateModel& state, const SummaryOptions& o) {
  Summary s;
  s.start_ns = o.start_ns ? o.start_ns : state.first_event_ns();
  s.end_ns = o.end_ns ? o.end_ns : state.last_event_ns();
  s.goroutines = state.counts();
  s.blocked = group_blocked(state, s, o.show_runtime, s.blocked_count, s.blocked_runtime_hidden);

  std::map<uint32_t, state::BlockingTotals> by_reason;
  for (const auto& site : state.blocking_by_site(s.end_ns)) {
    // A site of nothing but runtime frames: the runtime's own goroutines idling (GC workers...).
    if (!site.site.known() && !o.show_runtime) continue;
    auto& r = by_reason[site.wait_reason];
    r.count += site.totals.count;
    r.ongoing += site.totals.ongoing;
    r.total_ns += site.totals.total_ns;
    r.max_ns = std::max(r.max_ns, site.totals.max_ns);
    s.sites.push_back(site);
  }
  for (const auto& [reason, totals] : by_reason) s.reasons.push_back({reason, totals});
  std::stable_sort(s.reasons.begin(), s.reasons.end(),
                   [](const auto& a, const auto& b) { return a.totals.total_ns > b.totals.total_ns; });

  for (const auto& [address, m] : state.mutexes())
    if (m.contended > 0 || !state.waiters(address).empty()) s.mutexes.push_back(&m);
  std::sort(s.mutexes.begin(), s.mutexes.end(), [](const auto* a, const auto* b) {
    return std::tie(b->wait_total_ns, b->contended, a->address) <
           std::tie(a->wait_total_ns, a->contended, b->address);
  });

  for (const auto& [address, c] : state.channels()) {
    s.channels.made += c.capacity >= 0;
    s.channels.closed += c.closed;
    s.channels.has_operations = s.channels.has_operations || c.sends + c.recvs > 0;
    if (operations(c) > 0) s.channels.busiest.push_back(&c);
  }
  std::sort(s.channels.busiest.begin(), s.channels.busiest.end(), [](const auto* a, const auto* b) {
    const uint64_t oa = operations(*a), ob = operations(*b);
    return oa != ob ? oa > ob : a->address < b->address;
  });
  return s;
}

std::string goid_list(const std::vector<const GoroutineInfo*>& members, size_t limit) {
  std::string s;
  for (size_t i = 0; i < members.size() && i < limit; i++)
    s += (i ? " g" : "g") + std::to_string(members[i]->goid);
  if (members.size() > limit) s += " +" + std::to_string(members.size() - limit) + " more";
  return s;
}

std::string objects_text(const std::vector<model::ObjectRef>& objects) {
  if (objects.empty()) return "";
  std::string s = EventFormatter::object_text(objects.front().address, objects.front().kind);
  if (objects.size() > 1) s += " +" + std::to_string(objects.size() - 1) + " more";
  return s;
}

std::string rate_text(uint64_t events, int64_t duration_ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f events/s",
                static_cast<double>(events) * 1e9 / static_cast<double>(duration_ns));
  return buf;
}

// "1 goroutine", "3 goroutines".
std::string count_of(uint64_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string count_text(const state::BlockingTotals& t) {
  std::string s = std::to_string(t.count);
  if (t.ongoing) s += " (" + std::to_string(t.ongoing) + " now)";
  return s;
}

void section(FILE* out, const SummaryOptions& o, const std::string& title) {
  std::fprintf(out, "\n%s%s%s\n", o.color ? kBold : "", title.c_str(), o.color ? kReset : "");
}

}  // namespace

void write_trace_summary(FILE* out, const state::StateModel& state, const EventFormatter& format,
                         const model::TraceCounters& counters, const SummaryOptions& options) {
  const Summary s = collect(state, options);
  const int64_t duration = std::max<int64_t>(0, s.end_ns - s.start_ns);
  std::string header = duration_text(duration) + ", " + std::to_string(counters.events_seen) + " events";
  if (duration > 0) header += " (" + rate_text(counters.events_seen, duration) + ")";
  header += ", " + std::to_string(counters.events_printed) + " shown";
  std::fprintf(out, "%sgoscope trace summary%s: %s\n", options.color ? kBold : "",
               options.color ? kReset : "", header.c_str());

  const auto& g = s.goroutines;
  std::fprintf(out,
               "goroutines: %" PRIu64 " seen (%" PRIu64 " created, %" PRIu64
               " exited during the trace), %" PRIu64 " alive at the end, %" PRIu64
               " of them the runtime's own\n",
               g.seen, g.created, g.exited, g.alive, g.runtime);

  // Blocked now.
  std::string title = "blocked now: " + count_of(s.blocked_count, "goroutine");
  if (s.blocked_runtime_hidden)
    title += " (+" + std::to_string(s.blocked_runtime_hidden) + " of the runtime's own, not shown)";
  section(out, options, title);
  if (!s.blocked.empty())
    std::fprintf(out, "  %-10s %-24s %-20s %-30s %s\n", "for", "goroutines", "reason", "on", "site");
  for (size_t i = 0; i < s.blocked.size() && i < options.max_rows; i++) {
    const BlockedGroup& b = s.blocked[i];
    std::string for_text = (b.exact ? "" : "≥") + duration_text(b.longest_ns);
    const std::string who = goid_list(b.members, kGoidsShown);
    // "≥" is one column wide but three bytes long.
    std::fprintf(out, "  %-*s %-24s %-20s %-30s %s\n", b.exact ? 10 : 12, for_text.c_str(), who.c_str(),
                 format.reason_text(b.reason).c_str(), objects_text(b.objects).c_str(),
                 format.site_text(b.stack).c_str());
  }
  if (s.blocked.size() > options.max_rows)
    std::fprintf(out, "  ... %zu more groups (the JSON summary lists them all)\n",
                 s.blocked.size() - options.max_rows);

  // Where time went blocked.
  section(out, options, "top blocking sites (time goroutines spent blocked there during the trace)");
  if (s.sites.empty())
    std::fprintf(out, "  none\n");
  else
    std::fprintf(out, "  %10s %14s %10s  %-20s %s\n", "total", "count", "max", "reason", "site");
  for (size_t i = 0; i < s.sites.size() && i < options.max_rows; i++) {
    const auto& site = s.sites[i];
    std::fprintf(out, "  %10s %14s %10s  %-20s %s\n", duration_text(site.totals.total_ns).c_str(),
                 count_text(site.totals).c_str(), duration_text(site.totals.max_ns).c_str(),
                 format.reason_text(site.wait_reason).c_str(), format.site_text(site.example_stack).c_str());
  }
  if (!s.reasons.empty()) {
    std::string line = "  by reason:";
    for (size_t i = 0; i < s.reasons.size() && i < options.max_rows; i++)
      line += std::string(i ? ", " : " ") + format.reason_text(s.reasons[i].wait_reason) + " " +
              duration_text(s.reasons[i].totals.total_ns) + " (" + std::to_string(s.reasons[i].totals.count) +
              ")";
    std::fprintf(out, "%s\n", line.c_str());
  }

  // Mutexes.
  section(out, options, "contended mutexes");
  if (s.mutexes.empty()) std::fprintf(out, "  none seen\n");
  for (size_t i = 0; i < s.mutexes.size() && i < options.max_rows; i++) {
    const state::MutexInfo& m = *s.mutexes[i];
    std::string line = "  " + EventFormatter::object_text(m.address, m.kind) + ": " +
                       std::to_string(m.contended) + " contended";
    if (m.acquisitions) line += " of " + std::to_string(m.acquisitions) + " locks";
    line += ", waited " + duration_text(m.wait_total_ns) + " in all, " + duration_text(m.wait_max_ns) +
            " at most";
    if (m.holder) line += "; held by g" + std::to_string(m.holder);
    const auto waiters = state.waiters(m.address);
    if (!waiters.empty()) {
      line += "; waiting:";
      for (size_t w = 0; w < waiters.size() && w < kGoidsShown; w++)
        line += " g" + std::to_string(waiters[w]);
      if (waiters.size() > kGoidsShown) line += " +" + std::to_string(waiters.size() - kGoidsShown) + " more";
    }
    std::fprintf(out, "%s\n", line.c_str());
  }

  // Channels.
  const Channels& c = s.channels;
  if (c.has_operations) {
    section(out, options, "busiest channels");
    for (size_t i = 0; i < c.busiest.size() && i < options.max_rows; i++) {
      const state::ChannelInfo& ch = *c.busiest[i];
      std::string line = "  chan " + address_text(ch.address);
      line += ch.capacity >= 0 ? " cap " + std::to_string(ch.capacity) : " (made before the trace)";
      line += ": " + std::to_string(ch.sends) + " sends, " + std::to_string(ch.recvs) + " receives";
      if (ch.recvs_closed) line += ", " + std::to_string(ch.recvs_closed) + " on closed";
      if (ch.closed) line += ", closed";
      line += "; " + count_of(ch.users.size(), "goroutine") + (ch.users_truncated ? " or more" : "");
      if (ch.made_at) line += "; made at " + format.site_text(ch.made_at);
      std::fprintf(out, "%s\n", line.c_str());
    }
  } else {
    section(out, options, "channels");
    std::fprintf(out,
                 "  %" PRIu64 " made, %" PRIu64
                 " closed during the trace (counts of sends and receives need every "
                 "operation traced: --all-ops)\n",
                 c.made, c.closed);
  }

  // Lost events: always said, loudly when any.
  section(out, options, "lost events");
  std::fprintf(
      out, "  %" PRIu64 " lost (ring buffer full %" PRIu64 ", malformed %" PRIu64 ", unpaired %" PRIu64 ")",
      counters.lost(), counters.ringbuf_full, counters.malformed, counters.unpaired);
  std::fprintf(out,
               "; %" PRIu64 " incomplete (goroutine id unreadable %" PRIu64 ", field unreadable %" PRIu64
               ", stack cut %" PRIu64 ")\n",
               counters.incomplete(), counters.goid_unreadable, counters.field_unreadable,
               counters.stack_cut);
  if (counters.lost() > 0)
    std::fprintf(out,
                 "%sWARNING: %" PRIu64
                 " events were lost: the events and this summary are incomplete. A larger ring buffer "
                 "(--buffer-size) or fewer probes (no --all-ops / --sched) lose fewer.%s\n",
                 options.color ? kLoud : "", counters.lost(), options.color ? kReset : "");
}

nlohmann::json trace_summary_json(const state::StateModel& state, const EventFormatter& format,
                                  const model::TraceCounters& counters, const SummaryOptions& options) {
  const Summary s = collect(state, options);
  const int64_t duration = std::max<int64_t>(0, s.end_ns - s.start_ns);
  nlohmann::json j;
  j["duration_s"] = static_cast<double>(duration) / 1e9;
  j["events"] = counters.events_seen;
  j["events_per_s"] =
      duration > 0 ? static_cast<double>(counters.events_seen) * 1e9 / static_cast<double>(duration) : 0.0;
  j["events_shown"] = counters.events_printed;
  j["goroutines"] = {{"seen", s.goroutines.seen},
                     {"created", s.goroutines.created},
                     {"exited", s.goroutines.exited},
                     {"alive", s.goroutines.alive},
                     {"runtime", s.goroutines.runtime}};

  auto site_json = [&](model::StackId stack, nlohmann::json& into) {
    const state::CodeFrame* site = format.symbols()->stack(stack).site_frame();
    into["site"] = site ? nlohmann::json(file_line(*site)) : nlohmann::json(nullptr);
    into["func"] = site ? nlohmann::json(site->function) : nlohmann::json(nullptr);
  };
  auto reason_json = [&](uint32_t reason, nlohmann::json& into) {
    into["reason"] = format.reason_text(reason);
    into["reason_code"] = reason;
  };
  auto totals_json = [](const state::BlockingTotals& t, nlohmann::json& into) {
    into["count"] = t.count;
    into["ongoing"] = t.ongoing;
    into["total_ns"] = t.total_ns;
    into["max_ns"] = t.max_ns;
  };

  nlohmann::json blocked = nlohmann::json::array();
  for (const BlockedGroup& b : s.blocked) {
    nlohmann::json x;
    nlohmann::json goids = nlohmann::json::array();
    for (const auto* g : b.members) goids.push_back(g->goid);
    x["goids"] = std::move(goids);
    x["count"] = b.members.size();
    reason_json(b.reason, x);
    nlohmann::json objects = nlohmann::json::array();
    for (const auto& o : b.objects)
      objects.push_back({{"addr", address_text(o.address)}, {"kind", model::object_kind_name(o.kind)}});
    x["objects"] = std::move(objects);
    x["longest_ns"] = b.longest_ns;
    x["shortest_ns"] = b.shortest_ns;
    x["since_exact"] = b.exact;  // false: blocked since before the attach, for at least this long
    site_json(b.stack, x);
    blocked.push_back(std::move(x));
  }
  j["blocked_now"] = {{"goroutines", s.blocked_count},
                      {"runtime_hidden", s.blocked_runtime_hidden},
                      {"groups", std::move(blocked)}};

  nlohmann::json sites = nlohmann::json::array();
  for (const auto& site : s.sites) {
    nlohmann::json x;
    x["site"] = site.site.known() ? nlohmann::json(file_line(site.site)) : nlohmann::json(nullptr);
    x["func"] = site.site.known() ? nlohmann::json(site.site.function) : nlohmann::json(nullptr);
    reason_json(site.wait_reason, x);
    totals_json(site.totals, x);
    sites.push_back(std::move(x));
  }
  j["blocking_sites"] = std::move(sites);
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& r : s.reasons) {
    nlohmann::json x;
    reason_json(r.wait_reason, x);
    totals_json(r.totals, x);
    reasons.push_back(std::move(x));
  }
  j["blocking_by_reason"] = std::move(reasons);

  nlohmann::json mutexes = nlohmann::json::array();
  for (const auto* m : s.mutexes) {
    nlohmann::json readers = nlohmann::json::array();
    for (const auto& [goid, n] : m->readers) readers.push_back(goid);
    mutexes.push_back({{"addr", address_text(m->address)},
                       {"kind", model::object_kind_name(m->kind)},
                       {"acquisitions", m->acquisitions},
                       {"contended", m->contended},
                       {"wait_total_ns", m->wait_total_ns},
                       {"wait_max_ns", m->wait_max_ns},
                       {"holder", m->holder ? nlohmann::json(m->holder) : nlohmann::json(nullptr)},
                       {"readers", std::move(readers)},
                       {"waiters", state.waiters(m->address)}});
  }
  j["mutexes"] = std::move(mutexes);

  nlohmann::json channels = nlohmann::json::array();
  for (const auto* c : s.channels.busiest) {
    nlohmann::json x = {
        {"addr", address_text(c->address)},
        {"cap", c->capacity >= 0 ? nlohmann::json(c->capacity) : nlohmann::json(nullptr)},
        {"elem_size", c->elem_size >= 0 ? nlohmann::json(c->elem_size) : nlohmann::json(nullptr)},
        {"sends", c->sends},
        {"recvs", c->recvs},
        {"recvs_closed", c->recvs_closed},
        {"closes", c->closes},
        {"closed", c->closed},
        {"goroutines", c->users},
        {"goroutines_truncated", c->users_truncated}};
    if (c->made_at) site_json(c->made_at, x);
    channels.push_back(std::move(x));
  }
  j["channels"] = {{"made", s.channels.made},
                   {"closed", s.channels.closed},
                   {"operations_traced", s.channels.has_operations},
                   {"busiest", std::move(channels)}};

  j["lost"] = {{"total", counters.lost()},
               {"ringbuf_full", counters.ringbuf_full},
               {"malformed", counters.malformed},
               {"unpaired", counters.unpaired}};
  j["incomplete"] = {{"total", counters.incomplete()},
                     {"goid_unreadable", counters.goid_unreadable},
                     {"field_unreadable", counters.field_unreadable},
                     {"stack_cut", counters.stack_cut}};
  return j;
}

}  // namespace goscope::output
