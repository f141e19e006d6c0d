#include "output/stat_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "output/display.h"

namespace goscope::output {

using model::CounterInfo;
using model::CounterState;
using model::CounterValue;
using model::GoroutineCounts;
using model::StatResult;

namespace {

constexpr size_t kWidth = 120;       // the tables below the counters fit in this many columns
constexpr int kValueWidth = 18;      // perf stat's value column
constexpr int kNameWidth = 25;       // and its name column
constexpr size_t kMetricWidth = 35;  // perf's METRIC_LEN: " # " and the metric, before "  (62.50%)"

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[256];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return std::string(buf, std::clamp<int>(n, 0, sizeof buf - 1));
}

// `v` with `decimals` decimals and a comma every three digits of its integral part: "2,003.51".
std::string grouped(double v, int decimals) {
  const std::string s = format("%.*f", decimals, v);
  const size_t begin = s[0] == '-' ? 1 : 0;
  const size_t end = std::min(s.find('.'), s.size());
  std::string out = s.substr(0, begin);
  for (size_t i = begin; i < end; i++) {
    if (i > begin && (end - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out + s.substr(end);
}

// Columns a string takes on a terminal: UTF-8 continuation bytes take none.
size_t display_width(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string pad_left(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

std::string pad_right(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// The end of `s` in `width` columns, "…" where the start was cut: the end of a Go
// name or of "func (file.go:42)" says the most.
std::string truncate_left(const std::string& s, size_t width) {
  if (display_width(s) <= width) return s;
  if (width == 0) return "";
  size_t keep = width - 1, start = s.size();
  while (start > 0 && keep > 0) {
    start--;
    if ((static_cast<unsigned char>(s[start]) & 0xc0) != 0x80) keep--;
  }
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) start--;
  return "…" + s.substr(start);
}

void strip_right(std::string& s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

const CounterValue& value_at(const std::vector<CounterValue>& values, size_t i) {
  static const CounterValue kMissing;
  return i < values.size() ? values[i] : kMissing;
}

bool counted(const CounterValue& v) {
  return v.state == CounterState::kCounted;
}

// The scaled process value of the counter named `name`, when it was counted.
std::optional<double> process_value(const StatResult& r, std::string_view name) {
  for (size_t i = 0; i < r.counters.size(); i++)
    if (r.counters[i].name == name && counted(value_at(r.process, i))) return value_at(r.process, i).scaled();
  return std::nullopt;
}

// ---- perf stat's rows

// perf's derived metric of counter i ("#    1.23  insn per cycle"), "" when it has none.
std::string metric(const StatResult& r, size_t i) {
  const CounterInfo& info = r.counters[i];
  const double v = value_at(r.process, i).scaled();
  auto ratio_of = [&](std::string_view other) -> std::optional<double> {
    auto o = process_value(r, other);
    if (!o || *o <= 0) return std::nullopt;
    return v / *o;
  };
  if (info.time) {
    if (r.duration_ns <= 0) return "";
    return format("# %8.3f CPUs utilized", v / static_cast<double>(r.duration_ns));
  }
  if (info.name == "instructions") {
    if (auto ipc = ratio_of("cycles")) return format("# %7.2f  insn per cycle", *ipc);
  } else if (info.name == "cache-misses") {
    if (auto share = ratio_of("cache-references")) return format("# %7.2f%% of all cache refs", 100 * *share);
  } else if (info.name == "branch-misses") {
    if (auto share = ratio_of("branches")) return format("# %7.2f%% of all branches", 100 * *share);
  } else if (info.name == "stalled-cycles-frontend") {
    if (auto share = ratio_of("cycles")) return format("# %7.2f%% frontend cycles idle", 100 * *share);
  } else if (info.name == "stalled-cycles-backend") {
    if (auto share = ratio_of("cycles")) return format("# %7.2f%% backend cycles idle", 100 * *share);
  } else if (info.name == "cycles") {
    // Cycles per nanosecond of CPU time are GHz.
    if (auto ghz = ratio_of("task-clock")) return format("# %8.3f GHz", *ghz);
  }
  if (info.hardware || r.duration_ns <= 0) return "";
  // A software counter's rate over the session, in perf's units.
  double rate = v * 1e9 / static_cast<double>(r.duration_ns);
  const char* unit = "/sec";
  if (rate > 1e9) {
    rate /= 1e9;
    unit = "G/sec";
  } else if (rate > 1e6) {
    rate /= 1e6;
    unit = "M/sec";
  } else if (rate > 1e3) {
    rate /= 1e3;
    unit = "K/sec";
  }
  return format("# %8.3f %s", rate, unit);
}

std::string counter_row(const StatResult& r, size_t i) {
  const CounterInfo& info = r.counters[i];
  const CounterValue& v = value_at(r.process, i);
  std::string value, unit = "    ";
  switch (v.state) {
    case CounterState::kNotSupported:
      value = "<not supported>";
      break;
    case CounterState::kNotCounted:
      value = "<not counted>";
      break;
    case CounterState::kCounted:
      if (info.time) {
        value = grouped(v.scaled() / 1e6, 2);
        unit = "msec";
      } else {
        value = grouped(v.scaled(), 0);
      }
      break;
  }
  std::string line = pad_left(value, kValueWidth) + " " + unit + " " + pad_right(info.name, kNameWidth);
  if (counted(v)) {
    std::string comment;
    if (std::string m = metric(r, i); !m.empty()) comment = " " + m;
    // Multiplexed: counted for part of the time and scaled up, as perf says.
    if (v.fraction() < 1)
      comment = pad_right(comment, kMetricWidth) + format("  (%.2f%%)", 100 * v.fraction());
    line += comment;
  }
  strip_right(line);
  return line;
}

// ---- tables

// Short headers for the tables' counter columns: values are narrow, perf's names are not.
std::string column_name(const std::string& counter) {
  static const std::map<std::string, std::string, std::less<>> kShort = {
      {"context-switches", "ctx-sw"},
      {"cpu-migrations", "migrations"},
      {"page-faults", "faults"},
      {"instructions", "insns"},
      {"cache-references", "cache-refs"},
      {"cache-misses", "cache-miss"},
      {"branch-misses", "br-miss"},
      {"stalled-cycles-frontend", "stall-fe"},
      {"stalled-cycles-backend", "stall-be"},
  };
  auto it = kShort.find(counter);
  return it == kShort.end() ? counter : it->second;
}

// A value in a table: milliseconds (seconds from 10 s on) for time, counts exact up to
// 99,999 and with three significant digits above ("1.23M").
std::string cell(const CounterInfo& info, const CounterValue& v) {
  if (v.state == CounterState::kNotSupported) return "n/a";
  if (!counted(v)) return "-";
  const double x = v.scaled();
  if (info.time) return x < 1e10 ? grouped(x / 1e6, 2) + " ms" : grouped(x / 1e9, 2) + " s";
  if (x < 1e5) return grouped(x, 0);
  static constexpr std::pair<double, const char*> kUnits[] = {
      {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (size_t u = 0; u < std::size(kUnits); u++) {
    if (x < kUnits[u].first) continue;
    double scaled = x / kUnits[u].first;
    const char* unit = kUnits[u].second;
    if (scaled >= 999.5 && u > 0) {  // would print as 1000: the next unit up
      scaled = x / kUnits[u - 1].first;
      unit = kUnits[u - 1].second;
    }
    return format(scaled < 9.995 ? "%.2f%s" : scaled < 99.95 ? "%.1f%s" : "%.0f%s", scaled, unit);
  }
  return grouped(x, 0);
}

std::string share_text(double part, double total) {
  if (total <= 0) return "-";
  return format("%.1f%%", 100 * part / total);
}

struct Column {
  std::string header;
  bool right = true;      // numbers to the right, text to the left
  size_t min_width = 0;   // text that may be cut (from the left) down to this width; 0: never cut
  bool optional = false;  // left out, from the right, when the table is too wide
};

// A table in kWidth columns: text columns are cut first (down to their min_width),
// then optional columns are left out from the right, and a line says which.
class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  // Whether every column shows, no text cut below its min_width.
  bool fits() const { return layout(false).left_out.empty(); }

  std::string render() const {
    const Layout l = layout(true);
    std::string out;
    auto line = [&](auto&& text_of) {
      std::string text(kIndent, ' ');
      bool first = true;
      for (size_t c = 0; c < columns_.size(); c++) {
        if (!l.shown[c]) continue;
        if (!first) text += std::string(kGap, ' ');
        first = false;
        const std::string cell = truncate_left(text_of(c), l.width[c]);
        text += columns_[c].right ? pad_left(cell, l.width[c]) : pad_right(cell, l.width[c]);
      }
      strip_right(text);
      out += text + "\n";
    };
    line([&](size_t c) { return columns_[c].header; });
    for (const auto& row : rows_) line([&](size_t c) { return row[c]; });
    if (!l.left_out.empty()) {
      out += "  (left out to fit: ";
      for (size_t i = 0; i < l.left_out.size(); i++) out += (i ? ", " : "") + l.left_out[i];
      out += "; every counter is in the JSON output)\n";
    }
    return out;
  }

 private:
  static constexpr size_t kIndent = 2, kGap = 2;
  struct Layout {
    std::vector<size_t> width;
    std::vector<bool> shown;
    std::vector<std::string> left_out;  // headers of the columns left out
  };

  // `cut`: also narrow the text columns until the table fits.
  Layout layout(bool cut) const {
    const size_t n = columns_.size();
    Layout l{std::vector<size_t>(n), std::vector<bool>(n, true), {}};
    std::vector<size_t> floor(n);
    for (size_t c = 0; c < n; c++) {
      const size_t header = display_width(columns_[c].header);
      l.width[c] = header;
      for (const auto& row : rows_) l.width[c] = std::max(l.width[c], display_width(row[c]));
      floor[c] =
          columns_[c].min_width ? std::max(header, std::min(l.width[c], columns_[c].min_width)) : l.width[c];
    }
    auto total = [&](const std::vector<size_t>& w) {
      size_t sum = kIndent, count = 0;
      for (size_t c = 0; c < n; c++)
        if (l.shown[c]) sum += w[c], count++;
      return sum + (count ? kGap * (count - 1) : 0);
    };
    for (size_t c = n; c-- > 0 && total(floor) > kWidth;) {
      if (!columns_[c].optional) continue;
      l.shown[c] = false;
      l.left_out.insert(l.left_out.begin(), columns_[c].header);
    }
    if (!cut) return l;
    // The widest text column loses one column at a time.
    for (size_t excess = total(l.width) > kWidth ? total(l.width) - kWidth : 0; excess > 0; excess--) {
      size_t widest = n;
      for (size_t c = 0; c < n; c++)
        if (l.shown[c] && l.width[c] > floor[c] && (widest == n || l.width[c] > l.width[widest])) widest = c;
      if (widest == n) break;
      l.width[widest]--;
    }
    return l;
  }

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// The counters some row (a thread, a goroutine) has counted, the sort counter first.
template <typename Row>
std::vector<size_t> counted_columns(const StatResult& r, const std::vector<Row>& rows, int first) {
  auto any_counted = [&](size_t i) {
    return std::any_of(rows.begin(), rows.end(),
                       [i](const Row& row) { return counted(value_at(row.values, i)); });
  };
  std::vector<size_t> out;
  if (first >= 0 && any_counted(static_cast<size_t>(first))) out.push_back(static_cast<size_t>(first));
  for (size_t i = 0; i < r.counters.size(); i++)
    if (static_cast<int>(i) != first && any_counted(i)) out.push_back(i);
  return out;
}

// Goroutines by the sort counter, most first; then by samples and slices; then goid.
std::vector<const GoroutineCounts*> ranked_goroutines(const StatResult& r, int sort) {
  std::vector<const GoroutineCounts*> out;
  out.reserve(r.goroutines.size());
  for (const GoroutineCounts& g : r.goroutines) out.push_back(&g);
  auto key = [sort](const GoroutineCounts* g) {
    return sort >= 0 ? value_at(g->values, static_cast<size_t>(sort)).scaled() : 0.0;
  };
  std::stable_sort(out.begin(), out.end(), [&](const GoroutineCounts* a, const GoroutineCounts* b) {
    if (key(a) != key(b)) return key(a) > key(b);
    if (a->samples != b->samples) return a->samples > b->samples;
    if (a->slices != b->slices) return a->slices > b->slices;
    return a->goid < b->goid;
  });
  return out;
}

// Every goroutine created by one `go` statement, summed.
struct Site {
  std::string created_at;
  uint64_t goroutines = 0;
  std::vector<CounterValue> values;
};

std::vector<Site> sites_of(const StatResult& r, int sort) {
  std::map<std::string, Site> by_site;
  for (const GoroutineCounts& g : r.goroutines) {
    auto [it, first] = by_site.try_emplace(g.created_at);
    Site& s = it->second;
    s.goroutines++;
    if (first) {
      s.created_at = g.created_at;
      s.values = g.values;  // summing onto defaults would turn "not supported" into "not counted"
      s.values.resize(r.counters.size());
      continue;
    }
    for (size_t i = 0; i < s.values.size(); i++) s.values[i] += value_at(g.values, i);
  }
  std::vector<Site> out;
  out.reserve(by_site.size());
  for (auto& [name, site] : by_site) out.push_back(std::move(site));
  auto key = [sort](const Site& s) {
    return sort >= 0 ? value_at(s.values, static_cast<size_t>(sort)).scaled() : 0.0;
  };
  std::stable_sort(out.begin(), out.end(), [&](const Site& a, const Site& b) {
    if (key(a) != key(b)) return key(a) > key(b);
    return a.goroutines > b.goroutines;
  });
  return out;
}

std::string site_name(const std::string& created_at) {
  return created_at.empty() ? "(runtime)" : created_at;
}

std::string current_text(const GoroutineCounts& g) {
  if (g.current.empty()) return g.state.empty() ? "-" : g.state;
  return g.state.empty() ? g.current : g.current + " (" + g.state + ")";
}

std::vector<const model::ThreadCounts*> threads_by_tid(const StatResult& r) {
  std::vector<const model::ThreadCounts*> out;
  for (const auto& t : r.threads) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->tid < b->tid; });
  return out;
}

std::string thread_table(const StatResult& r) {
  const auto columns = counted_columns(r, r.threads, -1);
  std::vector<Column> header = {{"tid"}, {"name", false}};
  for (size_t i : columns) header.push_back({column_name(r.counters[i].name), true, 0, true});
  Table table(std::move(header));
  for (const model::ThreadCounts* t : threads_by_tid(r)) {
    std::vector<std::string> row = {std::to_string(t->tid), t->name + (t->exited ? " (exited)" : "")};
    for (size_t i : columns) row.push_back(cell(r.counters[i], value_at(t->values, i)));
    table.add(std::move(row));
  }
  return "Per thread:\n" + table.render();
}

// One table when everything fits in kWidth; else the numbers and the names apart,
// so that counters are not left out for names.
std::string goroutine_table(const StatResult& r, const StatTextOptions& options, int sort) {
  const auto ranked = ranked_goroutines(r, sort);
  const auto columns = counted_columns(r, r.goroutines, sort);
  const bool sorted_by_counter = !columns.empty() && static_cast<int>(columns[0]) == sort;
  const double total = sort >= 0 ? value_at(r.process, static_cast<size_t>(sort)).scaled() : 0;
  const bool samples = r.samples > 0 || std::any_of(r.goroutines.begin(), r.goroutines.end(),
                                                    [](const GoroutineCounts& g) { return g.samples > 0; });
  const size_t shown = std::min(options.top, ranked.size());

  auto numbers = [&](bool with_names) {
    std::vector<Column> header = {{"goid"}};
    if (sorted_by_counter) header.push_back({"share"});
    for (size_t c = 0; c < columns.size(); c++)
      header.push_back({column_name(r.counters[columns[c]].name), true, 0, c > 0 || !sorted_by_counter});
    header.push_back({"slices"});
    if (samples) header.push_back({"samples"});
    if (with_names) {
      header.push_back({"created at", false, 24});
      header.push_back({"function", false, 20});
      header.push_back({"current (state)", false, 20});
    } else {
      header.push_back({"state", false, 16});
    }
    Table table(std::move(header));
    for (size_t k = 0; k < shown; k++) {
      const GoroutineCounts& g = *ranked[k];
      std::vector<std::string> row = {std::to_string(g.goid)};
      if (sorted_by_counter)
        row.push_back(share_text(value_at(g.values, static_cast<size_t>(sort)).scaled(), total));
      for (size_t i : columns) row.push_back(cell(r.counters[i], value_at(g.values, i)));
      row.push_back(grouped(static_cast<double>(g.slices), 0));
      if (samples) row.push_back(grouped(static_cast<double>(g.samples), 0));
      if (with_names) {
        row.push_back(site_name(g.created_at));
        row.push_back(g.function.empty() ? "-" : g.function);
        row.push_back(current_text(g));
      } else {
        row.push_back(g.state.empty() ? "-" : g.state);
      }
      table.add(std::move(row));
    }
    return table;
  };

  const std::string by = sorted_by_counter ? r.counters[static_cast<size_t>(sort)].name : "samples";
  std::string out = "Top goroutines by " + by + " (top " + std::to_string(shown) + " of " +
                    std::to_string(ranked.size()) + "):\n";
  if (const Table one = numbers(true); one.fits()) {
    out += one.render();
  } else {
    out += numbers(false).render() + "\n";
    Table names({{"goid"}, {"function", false, 24}, {"created at", false, 30}, {"current", false, 24}});
    for (size_t k = 0; k < shown; k++) {
      const GoroutineCounts& g = *ranked[k];
      names.add({std::to_string(g.goid), g.function.empty() ? "-" : g.function, site_name(g.created_at),
                 g.current.empty() ? "-" : g.current});
    }
    out += names.render();
  }
  if (ranked.size() > shown)
    out += "  ... " + std::to_string(ranked.size() - shown) + " more goroutines (all in the JSON output)\n";
  return out;
}

std::string site_table(const StatResult& r, const StatTextOptions& options, int sort) {
  const auto sites = sites_of(r, sort);
  const auto columns = counted_columns(r, r.goroutines, sort);
  const bool share = !columns.empty() && static_cast<int>(columns[0]) == sort;
  const double total = sort >= 0 ? value_at(r.process, static_cast<size_t>(sort)).scaled() : 0;
  std::vector<Column> header = {{"created at", false, 24}, {"goroutines"}};
  for (size_t c = 0; c < columns.size(); c++)
    header.push_back({column_name(r.counters[columns[c]].name), true, 0, c > 0 || !share});
  if (share) header.push_back({"share"});
  Table table(std::move(header));
  const size_t shown = std::min(options.top, sites.size());
  for (size_t k = 0; k < shown; k++) {
    const Site& s = sites[k];
    std::vector<std::string> row = {site_name(s.created_at), grouped(static_cast<double>(s.goroutines), 0)};
    for (size_t i : columns) row.push_back(cell(r.counters[i], value_at(s.values, i)));
    if (share) row.push_back(share_text(value_at(s.values, static_cast<size_t>(sort)).scaled(), total));
    table.add(std::move(row));
  }
  std::string out = "By creation site (every goroutine created by the same go statement, summed):\n";
  out += table.render();
  if (sites.size() > shown)
    out += "  ... " + std::to_string(sites.size() - shown) + " more sites (all in the JSON output)\n";
  return out;
}

std::string unattributed_text(const StatResult& r, int sort) {
  std::vector<std::string> items;
  for (size_t i = 0; i < r.counters.size(); i++) {
    const CounterValue& v = value_at(r.unattributed, i);
    if (counted(v)) items.push_back(r.counters[i].name + " " + cell(r.counters[i], v));
  }
  if (items.empty()) return "";
  if (sort >= 0 && counted(value_at(r.unattributed, static_cast<size_t>(sort))))
    items.push_back("(" +
                    share_text(value_at(r.unattributed, static_cast<size_t>(sort)).scaled(),
                               value_at(r.process, static_cast<size_t>(sort)).scaled()) +
                    " of the process's " + r.counters[static_cast<size_t>(sort)].name + ")");
  std::string out = "Unattributed (scheduler, GC on the system stack, before a thread's first switch):\n";
  std::string line;
  for (const std::string& item : items) {
    if (!line.empty() && display_width(line) + 3 + display_width(item) > kWidth) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "  " : "   ") + item;
  }
  return out + line + "\n";
}

// ---- JSON

using Json = nlohmann::ordered_json;

Json counter_json(const CounterValue& v) {
  Json j;
  j["state"] = model::counter_state_name(v.state);
  if (counted(v)) {
    const double scaled = v.scaled();
    // Exact counts stay integers; a multiplexed estimate is a fraction.
    if (scaled == std::floor(scaled) && scaled < 9007199254740992.0)
      j["value"] = static_cast<uint64_t>(scaled);
    else
      j["value"] = scaled;
  }
  j["raw"] = v.raw;
  j["enabled_ns"] = v.enabled_ns;
  j["running_ns"] = v.running_ns;
  return j;
}

Json counters_json(const StatResult& r, const std::vector<CounterValue>& values) {
  Json j = Json::object();
  for (size_t i = 0; i < r.counters.size(); i++)
    j[valid_utf8(r.counters[i].name)] = counter_json(value_at(values, i));
  return j;
}

}  // namespace

int stat_sort_counter(const StatResult& r) {
  int first = -1;
  for (size_t i = 0; i < r.counters.size(); i++) {
    if (!counted(value_at(r.process, i))) continue;
    if (r.counters[i].name == "task-clock") return static_cast<int>(i);
    if (first < 0) first = static_cast<int>(i);
  }
  return first;
}

std::string stat_text(const StatResult& r, const StatTextOptions& options) {
  std::string out = format(" Performance counter stats for process %d", static_cast<int>(r.pid));
  if (!r.command.empty()) out += " (" + r.command + ")";
  out += format(", %.2f s:\n\n", static_cast<double>(r.duration_ns) / 1e9);
  for (size_t i = 0; i < r.counters.size(); i++) out += counter_row(r, i) + "\n";
  out += "\n" + format("%*.9f seconds time elapsed\n", kValueWidth, static_cast<double>(r.duration_ns) / 1e9);
  const bool pmu_note = !r.hardware_pmu && !r.pmu_note.empty();
  if (pmu_note) out += "\nnote: " + r.pmu_note + "\n";

  const int sort = stat_sort_counter(r);
  if (options.per_thread && !r.threads.empty()) out += "\n" + thread_table(r);
  if (r.per_goroutine) {
    if (!r.goroutines.empty()) {
      out += "\n" + goroutine_table(r, options, sort);
      out += "\n" + site_table(r, options, sort);
    }
    if (std::string u = unattributed_text(r, sort); !u.empty()) out += "\n" + u;
  }

  std::string end;
  if (r.samples > 0 || r.lost_samples > 0) {
    end += "CPU samples: " + grouped(static_cast<double>(r.samples), 0);
    if (r.lost_samples > 0)
      end += " (" + grouped(static_cast<double>(r.lost_samples), 0) + " samples or counter records lost)";
    end += "\n";
  }
  if (!r.per_goroutine_note.empty()) end += "note: " + r.per_goroutine_note + "\n";
  for (const std::string& note : r.notes)
    if (!(pmu_note && note == r.pmu_note)) end += "note: " + note + "\n";
  if (!end.empty()) out += "\n" + end;
  return out;
}

std::string stat_json(const StatResult& r) {
  Json j;
  j["pid"] = r.pid;
  j["command"] = valid_utf8(r.command);
  j["go_version"] = valid_utf8(r.go_version);
  j["duration_ns"] = r.duration_ns;
  j["pmu"] = {{"hardware", r.hardware_pmu}, {"note", valid_utf8(r.pmu_note)}};
  j["counters"] = Json::array();
  for (const CounterInfo& c : r.counters)
    j["counters"].push_back(
        {{"name", valid_utf8(c.name)}, {"hardware", c.hardware}, {"unit", c.time ? "ns" : "count"}});
  j["process"] = counters_json(r, r.process);
  j["threads"] = Json::array();
  for (const model::ThreadCounts* t : threads_by_tid(r))
    j["threads"].push_back({{"tid", t->tid},
                            {"name", valid_utf8(t->name)},
                            {"exited", t->exited},
                            {"counters", counters_json(r, t->values)}});
  j["per_goroutine"] = r.per_goroutine;
  j["per_goroutine_note"] = valid_utf8(r.per_goroutine_note);
  const int sort = stat_sort_counter(r);
  j["goroutines"] = Json::array();
  for (const GoroutineCounts* g : ranked_goroutines(r, sort))
    j["goroutines"].push_back({{"goid", g->goid},
                               {"created_at", valid_utf8(g->created_at)},
                               {"function", valid_utf8(g->function)},
                               {"current", valid_utf8(g->current)},
                               {"state", valid_utf8(g->state)},
                               {"slices", g->slices},
                               {"samples", g->samples},
                               {"counters", counters_json(r, g->values)}});
  j["sites"] = Json::array();
  for (const Site& s : sites_of(r, sort))
    j["sites"].push_back({{"created_at", valid_utf8(s.created_at)},
                          {"goroutines", s.goroutines},
                          {"counters", counters_json(r, s.values)}});
  j["unattributed"] = counters_json(r, r.unattributed);
  j["samples"] = r.samples;
  j["lost_samples"] = r.lost_samples;
  j["notes"] = Json::array();
  for (const std::string& note : r.notes) j["notes"].push_back(valid_utf8(note));
  return j.dump(2) + "\n";
}

}  // namespace goscope::output
