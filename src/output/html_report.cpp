#include "output/html_report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <numbers>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "output/display.h"
#include "output/event_format.h"
#include "output/findings_report.h"

namespace goscope::output {

// The page's stylesheet and script (src/output/html/), compiled in by cmake/EmbedText.cmake.
extern const std::string_view kHtmlReportCss;
extern const std::string_view kHtmlReportJs;

using detect::Finding;
using detect::FindingGoroutine;
using detect::FindingObject;
using FindingLocation = detect::Location;
using detect::Severity;
using nlohmann::json;

namespace {

// ---- text ----

// Length of the valid UTF-8 sequence at s[i], 0 when the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF are not).
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (byte(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

void append_html(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += kReplacement;
      i++;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not text: show that something was there.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          out += kReplacement;
        else
          out += c;
    }
    i++;
  }
}

// At most `max` characters (code points) of `s`, with "…" when cut.
std::string shortened(std::string_view s, size_t max) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); chars++) {
    if (chars == max) return std::string(s.substr(0, i)) + "…";
    const size_t n = utf8_sequence(s, i);
    i += n ? n : 1;
  }
  return std::string(s);
}

std::string number_text(uint64_t n) {
  // Thousands separated by a thin space: 1 234 567 reads at a glance.
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); i++) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u2009";
    out += digits[i];
  }
  return out;
}

std::string plural(uint64_t n, std::string_view noun) {
  return number_text(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// "2025-03-01 12:34:56 UTC"; "" for no time.
std::string wall_clock_text(int64_t unix_ns) {
  if (unix_ns <= 0) return {};
  const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  struct tm utc {};
  if (!gmtime_r(&seconds, &utc)) return {};
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buf;
}

std::string reason_name(const model::StreamInfo* stream, uint32_t reason) {
  if (stream) {
    const std::string_view name = stream->wait_reason_name(reason);
    if (!name.empty()) return std::string(name);
  }
  return "wait reason " + std::to_string(reason);
}

// "main.transfer (bank.go:42)" with the full path on hover.
std::string location_html(const FindingLocation& l) {
  const state::CodeFrame frame{.function = l.function, .file = l.file, .line = l.line, .pc = l.pc};
  std::string out = "<code title=\"";
  append_html(out, l.file.empty() ? address_text(l.pc) : file_line(frame));
  out += "\">";
  append_html(out, l.known() ? frame_text(frame) : (l.pc ? address_text(l.pc) : "unknown"));
  out += "</code>";
  return out;
}

std::string frame_html(const state::CodeFrame& frame) {
  std::string out = "<code title=\"";
  append_html(out, frame.known() ? file_line(frame) : address_text(frame.pc));
  out += "\">";
  append_html(out, frame.known() ? frame_text(frame) : "runtime only");
  out += "</code>";
  return out;
}

// ---- findings ----

const char* severity_class(Severity s) {
  switch (s) {
    case Severity::kError:
      return "sev-error";
    case Severity::kWarning:
      return "sev-warning";
    case Severity::kInfo:
      return "sev-info";
  }
  return "";
}

// Where to look: the finding's location, else the first goroutine's blocking site.
std::optional<FindingLocation> where_to_look(const Finding& f) {
  if (f.location && (f.location->known() || !f.location->file.empty())) return f.location;
  for (const FindingGoroutine& g : f.goroutines)
    if (g.site && g.site->known()) return g.site;
  return std::nullopt;
}

bool is_deadlock_rule(detect::Rule r) {
  return detect::rule_info(r).category == detect::RuleCategory::kDeadlock;
}

// ---- the wait-for graph, as SVG ----

class WaitForGraph {
 public:
  WaitForGraph(const Finding& f, size_t max_nodes) : f_(f) {
    // The cycle first, in its order: goroutine, the object it waits for, the next goroutine...
    for (const detect::WaitEdge& e : f.cycle) {
      const size_t g = goroutine_node(e.from, true);
      const size_t o = object_node(e.object, true);
      const size_t to = e.to ? goroutine_node(e.to, true) : SIZE_MAX;
      edge(g, o, "waits for", true);
      if (to != SIZE_MAX) edge(o, to, e.relation.empty() ? "released by" : e.relation, true);
    }
    cycle_nodes_ = nodes_.size();
    // Everyone else the finding names, while there is room.
    for (const FindingGoroutine& g : f.goroutines) {
      if (nodes_.size() >= max_nodes) break;
      const size_t gn = goroutine_node(g.goid, false);
      for (uint64_t a : g.waits_on) {
        if (nodes_.size() >= max_nodes) break;
        edge(gn, object_node(a, false), "waits for", false);
      }
    }
    for (const FindingObject& o : f.objects)
      for (uint64_t holder : o.held_by) {
        if (nodes_.size() >= max_nodes) break;
        const auto on = find(false, o.address), hn = find(true, holder);
        if (on && (hn || nodes_.size() < max_nodes))
          edge(*on, hn ? *hn : goroutine_node(holder, false),
               o.holders_inferred ? "held by (inferred)" : "held by", false);
      }
    for (const FindingGoroutine& g : f.goroutines)
      if (!find(true, g.goid)) left_out_++;
    layout();
  }

  bool drawable() const { return !edges_.empty(); }
  size_t left_out() const { return left_out_; }

  std::string svg(size_t index) const {
    const double pad = 24;
    double min_x = 1e18, min_y = 1e18, max_x = -1e18, max_y = -1e18;
    for (const Node& n : nodes_) {
      min_x = std::min(min_x, n.x - n.w / 2), max_x = std::max(max_x, n.x + n.w / 2);
      min_y = std::min(min_y, n.y - n.h / 2), max_y = std::max(max_y, n.y + n.h / 2);
    }
    const double width = max_x - min_x + 2 * pad, height = max_y - min_y + 2 * pad;
    const std::string id = "wfg" + std::to_string(index);
    std::string s;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "<svg class=\"wfg\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"%.0f %.0f %.0f %.0f\" "
                  "width=\"%.0f\" role=\"img\" aria-labelledby=\"%s-title\">",
                  min_x - pad, min_y - pad, width, height, width, id.c_str());
    s += buf;
    s += "<title id=\"" + id + "-title\">wait-for graph: ";
    append_html(s, f_.title);
    s += "</title><defs>";
    for (const char* kind : {"cycle", "other"}) {
      s += "<marker id=\"" + id + "-arrow-" + kind +
           "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
           "orient=\"auto-start-reverse\"><path class=\"arrow-" +
           kind + "\" d=\"M0,0 L10,5 L0,10 z\"/></marker>";
    }
    s += "</defs>";
    for (const Edge& e : edges_) s += edge_svg(e, id);
    for (const Node& n : nodes_) s += node_svg(n);
    s += "</svg>";
    return s;
  }

 private:
  struct Node {
    bool goroutine = false;
    uint64_t id = 0;  // goid or address
    bool in_cycle = false;
    std::vector<std::string> lines;  // the first is the name
    std::string tooltip;
    double x = 0, y = 0, w = 0, h = 0;
  };
  struct Edge {
    size_t from = 0, to = 0;
    std::string label;
    bool cycle = false;
  };

  std::optional<size_t> find(bool goroutine, uint64_t id) const {
    for (size_t i = 0; i < nodes_.size(); i++)
      if (nodes_[i].goroutine == goroutine && nodes_[i].id == id) return i;
    return std::nullopt;
  }

  size_t goroutine_node(uint64_t goid, bool in_cycle) {
    if (auto i = find(true, goid)) return *i;
    Node n{.goroutine = true, .id = goid, .in_cycle = in_cycle};
    n.lines.push_back("goroutine " + std::to_string(goid));
    n.tooltip = n.lines[0];
    for (const FindingGoroutine& g : f_.goroutines) {
      if (g.goid != goid) continue;
      std::string why = g.wait_reason.empty() ? g.state : g.wait_reason;
      if (const std::string blocked = blocked_text(g); !blocked.empty())
        why += (why.empty() ? "" : ", ") + blocked;
      if (!why.empty()) n.lines.push_back(why);
      if (g.site && g.site->known()) {
        const state::CodeFrame frame{
            .function = g.site->function, .file = g.site->file, .line = g.site->line};
        n.lines.push_back(frame_text(frame));
        n.tooltip += "\n" + why + "\nat " + file_line(frame);
      }
      break;
    }
    n.w = 210, n.h = 20 + 16.0 * static_cast<double>(n.lines.size());
    nodes_.push_back(std::move(n));
    return nodes_.size() - 1;
  }

  size_t object_node(uint64_t address, bool in_cycle) {
    if (auto i = find(false, address)) return *i;
    Node n{.goroutine = false, .id = address, .in_cycle = in_cycle};
    n.lines.push_back(object_label(f_, address));
    n.tooltip = n.lines[0];
    if (const FindingObject* o = finding_object(f_, address); o && !o->detail.empty()) {
      n.lines.push_back(o->detail);
      n.tooltip += "\n" + o->detail;
    }
    n.w = 230, n.h = 20 + 16.0 * static_cast<double>(n.lines.size());
    nodes_.push_back(std::move(n));
    return nodes_.size() - 1;
  }

  void edge(size_t from, size_t to, std::string label, bool cycle) {
    for (const Edge& e : edges_)
      if (e.from == from && e.to == to) return;
    edges_.push_back({from, to, std::move(label), cycle});
  }

  // The cycle on an ellipse, clockwise from the top, so it reads as the loop it is;
  // everyone else in rows under it. Without a cycle: goroutines in a column on the
  // left, objects on the right.
  void layout() {
    const size_t n = cycle_nodes_;
    double bottom = 0;
    if (n > 0) {
      const double radius = std::max(110.0, static_cast<double>(n) * 250 / (2 * std::numbers::pi));
      const double rx = n <= 2 ? 0 : radius * 1.35, ry = n <= 2 ? 75 : radius;
      for (size_t k = 0; k < n; k++) {
        const double angle = -std::numbers::pi / 2 + 2 * std::numbers::pi * static_cast<double>(k) / n;
        nodes_[k].x = rx * std::cos(angle);
        nodes_[k].y = ry * std::sin(angle);
        bottom = std::max(bottom, nodes_[k].y + nodes_[k].h / 2);
      }
      constexpr size_t kPerRow = 4;
      for (size_t k = n; k < nodes_.size(); k++) {
        const size_t i = k - n, row = i / kPerRow;
        const size_t in_row = std::min(kPerRow, nodes_.size() - n - row * kPerRow);
        nodes_[k].x = (static_cast<double>(i % kPerRow) - (static_cast<double>(in_row) - 1) / 2) * 260;
        nodes_[k].y = bottom + 90 + static_cast<double>(row) * 100;
      }
      return;
    }
    double y_goroutines = 0, y_objects = 0;
    for (Node& node : nodes_) {
      double& y = node.goroutine ? y_goroutines : y_objects;
      node.x = node.goroutine ? 0 : 380;
      node.y = y + node.h / 2;
      y += node.h + 36;
    }
  }

  // Where the line from a node's center towards (dx, dy) leaves its box.
  static std::pair<double, double> border_point(const Node& n, double dx, double dy) {
    const double tx = dx == 0 ? 1e18 : (n.w / 2) / std::fabs(dx);
    const double ty = dy == 0 ? 1e18 : (n.h / 2) / std::fabs(dy);
    const double t = std::min(tx, ty);
    return {n.x + dx * t, n.y + dy * t};
  }

  std::string edge_svg(const Edge& e, const std::string& id) const {
    const Node& a = nodes_[e.from];
    const Node& b = nodes_[e.to];
    char buf[512];
    if (e.from == e.to) {  // a goroutine waiting for itself: a loop on its right side
      std::snprintf(buf, sizeof buf,
                    "<path class=\"edge %s\" d=\"M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                    "marker-end=\"url(#%s-arrow-%s)\"/>",
                    e.cycle ? "cycle" : "other", a.x + a.w / 2, a.y - 8, a.x + a.w / 2 + 70, a.y - 50,
                    a.x + a.w / 2 + 70, a.y + 50, a.x + a.w / 2 + 2, a.y + 8, id.c_str(),
                    e.cycle ? "cycle" : "other");
      return buf + label_svg(e, a.x + a.w / 2 + 60, a.y);
    }
    const double dx = b.x - a.x, dy = b.y - a.y;
    const auto [x1, y1] = border_point(a, dx, dy);
    const auto [x2, y2] = border_point(b, -dx, -dy);
    // Two edges between the same pair (one each way) bend apart instead of overlapping.
    const bool reverse = std::any_of(edges_.begin(), edges_.end(),
                                     [&](const Edge& o) { return o.from == e.to && o.to == e.from; });
    const double length = std::hypot(x2 - x1, y2 - y1);
    const double bend = reverse && length > 0 ? 28 : 0;
    const double mx = (x1 + x2) / 2 + (length > 0 ? -(y2 - y1) / length * bend : 0);
    const double my = (y1 + y2) / 2 + (length > 0 ? (x2 - x1) / length * bend : 0);
    std::snprintf(buf, sizeof buf,
                  "<path class=\"edge %s\" d=\"M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f\" "
                  "marker-end=\"url(#%s-arrow-%s)\"/>",
                  e.cycle ? "cycle" : "other", x1, y1, 2 * mx - (x1 + x2) / 2, 2 * my - (y1 + y2) / 2, x2, y2,
                  id.c_str(), e.cycle ? "cycle" : "other");
    return buf + label_svg(e, mx, my);
  }

  static std::string label_svg(const Edge& e, double x, double y) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "<text class=\"edge-label %s\" x=\"%.1f\" y=\"%.1f\">",
                  e.cycle ? "cycle" : "other", x, y + 4);
    std::string s = buf;
    append_html(s, e.label);
    return s + "</text>";
  }

  static std::string node_svg(const Node& n) {
    char buf[256];
    std::string s = "<g class=\"node ";
    s += n.goroutine ? "goroutine" : "object";
    s += n.in_cycle ? " in-cycle\">" : "\">";
    s += "<title>";
    append_html(s, n.tooltip);
    s += "</title>";
    std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" rx=\"%d\"/>",
                  n.x - n.w / 2, n.y - n.h / 2, n.w, n.h, n.goroutine ? 8 : 20);
    s += buf;
    for (size_t i = 0; i < n.lines.size(); i++) {
      std::snprintf(buf, sizeof buf, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\">", i == 0 ? "name" : "info",
                    n.x, n.y - n.h / 2 + 24 + 16.0 * static_cast<double>(i));
      s += buf;
      append_html(s, shortened(n.lines[i], i == 0 ? 30 : 34));
      s += "</text>";
    }
    return s + "</g>";
  }

  const Finding& f_;
  std::vector<Node> nodes_;
  std::vector<Edge> edges_;
  size_t cycle_nodes_ = 0;
  size_t left_out_ = 0;
};

// ---- the flamegraph's tree ----

// Frames merged by function and line, root outermost, values summed.
struct FlameNode {
  std::string function;
  std::string file;
  int64_t line = 0;
  int64_t delay = 0;
  int64_t count = 0;
  std::vector<FlameNode> children;
  std::map<std::pair<std::string, int64_t>, size_t> index;  // (function, line) -> child
};

FlameNode flame_tree(std::span<const Sample> samples) {
  FlameNode root{.function = "all"};
  for (const Sample& sample : samples) {
    if (sample.values.empty()) continue;
    const int64_t delay = sample.values.size() > 1 ? sample.values[1] : sample.values[0];
    const int64_t count = sample.values[0];
    if (delay <= 0) continue;
    root.delay += delay, root.count += count;
    FlameNode* node = &root;
    for (auto loc = sample.stack.rbegin(); loc != sample.stack.rend(); ++loc) {
      std::vector<Line> lines = loc->lines;
      if (lines.empty()) lines.push_back({.function = address_text(loc->address)});
      for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
        const auto key = std::make_pair(line->function, line->line);
        auto [it, added] = node->index.emplace(key, node->children.size());
        if (added)
          node->children.push_back({.function = line->function, .file = line->file, .line = line->line});
        node = &node->children[it->second];
        node->delay += delay, node->count += count;
      }
    }
  }
  return root;
}

struct StringTable {
  json values = json::array();
  std::unordered_map<std::string, size_t> ids;
  size_t id(const std::string& s) {
    auto [it, added] = ids.emplace(s, values.size());
    if (added) values.push_back(s);
    return it->second;
  }
};

// [function id, file:line id, delay, count, [children...]], children widest first,
// those under min_delay left out (counted in `pruned`).
json flame_json(const FlameNode& node, int64_t min_delay, StringTable& strings, uint64_t& pruned) {
  std::vector<const FlameNode*> children;
  for (const FlameNode& c : node.children) {
    if (c.delay >= min_delay)
      children.push_back(&c);
    else
      pruned++;
  }
  std::sort(children.begin(), children.end(), [](const FlameNode* a, const FlameNode* b) {
    return a->delay != b->delay ? a->delay > b->delay : a->function < b->function;
  });
  json kids = json::array();
  for (const FlameNode* c : children) kids.push_back(flame_json(*c, min_delay, strings, pruned));
  const std::string where = node.file.empty() ? "" : node.file + ":" + std::to_string(node.line);
  return json::array({strings.id(node.function), strings.id(where), node.delay, node.count, std::move(kids)});
}

// ---- the page ----

class Page {
 public:
  Page(const HtmlReportInput& in, const HtmlReportOptions& o) : in_(in), o_(o) {
    findings_ = by_severity(in.findings);
    now_ns_ = in.end && in.end->end_ns ? in.end->end_ns : (in.state ? in.state->last_event_ns() : 0);
    for (const Finding* f : findings_)
      if ((is_deadlock_rule(f->rule) || !f->cycle.empty()) && WaitForGraph(*f, o_.max_graph_nodes).drawable())
        graphs_.insert(f);
  }

  std::string render() {
    // The script's data first: making it finds what the notes must say (lanes left out...).
    json data = json::object();
    if (in_.timeline) data["timeline"] = timeline_json();
    if (!in_.blocking.empty()) data["flame"] = flame_data();
    head();
    header();
    findings();
    graphs();
    timeline();
    flamegraph();
    sites();
    channels();
    notes();
    out_ += "<footer>Written by goscope";
    if (in_.meta && !in_.meta->goscope_version.empty()) {
      out_ += ' ';
      append_html(out_, in_.meta->goscope_version);
    }
    out_ += ". This file is self-contained: it loads nothing from the network.</footer>\n</main>\n";
    out_ += "<script type=\"application/json\" id=\"goscope-data\">" + script_json(data) +
            "</script>\n<script>\n";
    out_ += kHtmlReportJs;
    out_ += "</script>\n</body>\n</html>\n";
    return std::move(out_);
  }

 private:
  void text(std::string_view s) { append_html(out_, s); }

  std::string program_name() const {
    if (in_.meta && !in_.meta->exe_name.empty()) return in_.meta->exe_name;
    if (in_.meta && !in_.meta->command.empty()) return in_.meta->command.front();
    if (in_.build && !in_.build->main_path.empty()) return in_.build->main_path;
    return "Go program";
  }

  void head() {
    out_ +=
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        // Nothing may be fetched: no scripts, styles, fonts or images from anywhere.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        "<meta name=\"generator\" content=\"goscope\">\n<title>goscope report: ";
    text(program_name());
    if (in_.meta && in_.meta->pid) out_ += " (PID " + std::to_string(in_.meta->pid) + ")";
    out_ += "</title>\n";
    // The theme is chosen before the first paint, so a dark page never flashes white.
    out_ +=
        "<script>try{var t=localStorage.getItem('goscope-theme');"
        "if(t==='dark'||t==='light')document.documentElement.dataset.theme=t;}catch(e){}</script>\n";
    out_ += "<style>\n";
    out_ += kHtmlReportCss;
    out_ += "</style>\n</head>\n<body>\n<main>\n";
  }

  void fact(std::string_view name, const std::string& value_html, const char* cls = nullptr) {
    out_ += "<div";
    if (cls) out_ += std::string(" class=\"") + cls + "\"";
    out_ += "><dt>";
    text(name);
    out_ += "</dt><dd>" + value_html + "</dd></div>";
  }
  std::string h(std::string_view s) const {
    std::string out;
    append_html(out, s);
    return out;
  }

  void header() {
    const model::TraceMeta* m = in_.meta;
    const model::TraceEnd* e = in_.end;
    out_ += "<header class=\"top\"><div class=\"title-row\"><h1><span class=\"brand\">goscope</span> ";
    text(program_name());
    out_ +=
        "</h1><button id=\"theme-toggle\" type=\"button\" title=\"Switch between dark and light\">"
        "Theme</button></div>\n<dl class=\"facts\">";
    if (m && !m->command.empty()) {
      std::string cmd;
      for (const std::string& arg : m->command) cmd += (cmd.empty() ? "" : " ") + arg;
      fact("command", "<code>" + h(cmd) + "</code>");
    }
    if (m && m->pid)
      fact("PID", std::to_string(m->pid) + (m->launched ? " (launched by goscope)" : " (attached)"));
    if (in_.build) {
      fact("Go version", h(in_.build->go_version.empty() ? "unknown" : in_.build->go_version));
      if (!in_.build->main_module.empty()) fact("module", "<code>" + h(in_.build->main_module) + "</code>");
    }
    if (m && m->start_unix_ns) fact("started", h(wall_clock_text(m->start_unix_ns)));
    const int64_t start = start_ns(), end = end_ns();
    if (end > start && start > 0) fact("duration", h(duration_text(end - start)));
    if (e && !e->reason.empty()) fact("stopped", h(e->reason));
    if (m) {
      std::string probes = m->probe_set;
      if (m->scheduler) probes += ", scheduler";
      if (m->lock_holders) probes += ", lock holders";
      if (m->stack_depth) probes += ", stacks of " + std::to_string(m->stack_depth) + " frames";
      fact("probes", h(probes));
    }
    if (e) {
      const model::TraceCounters& c = e->counters;
      fact("events", h(number_text(c.events_seen) + " seen"));
      fact("lost", h(number_text(c.lost())), c.lost() ? "bad" : nullptr);
      if (c.incomplete()) fact("incomplete", h(number_text(c.incomplete())));
    } else if (in_.state) {
      fact("events", h(number_text(in_.state->events()) + " seen"));
    }
    if (m && !m->hostname.empty())
      fact("host", h(m->hostname + (m->kernel.empty() ? "" : ", Linux " + m->kernel)));
    out_ += "</dl>\n";
    if (e && e->counters.lost())
      out_ +=
          "<p class=\"warning\">" +
          h(plural(e->counters.lost(), "event") +
            " were lost: what follows is incomplete. A larger ring buffer (--buffer-size) or fewer probes "
            "lose fewer.") +
          "</p>\n";
    // A table of contents: the report is long, the engineer wants one part of it.
    out_ += "<nav><a href=\"#findings\">Findings (" + std::to_string(findings_.size()) +
            ")</a><a href=\"#graphs\">Wait-for graphs</a><a href=\"#timeline\">Timeline</a>"
            "<a href=\"#flamegraph\">Blocking flamegraph</a><a href=\"#sites\">Blocking sites</a>"
            "<a href=\"#channels\">Channels</a><a href=\"#notes\">Notes</a></nav>\n</header>\n";
  }

  int64_t start_ns() const {
    if (in_.meta && in_.meta->start_ns) return in_.meta->start_ns;
    if (in_.timeline && in_.timeline->start_ns) return in_.timeline->start_ns;
    return in_.state ? in_.state->first_event_ns() : 0;
  }
  int64_t end_ns() const { return now_ns_ ? now_ns_ : (in_.timeline ? in_.timeline->end_ns : 0); }

  void section(const char* id, std::string_view title, std::string_view subtitle = {}) {
    out_ += std::string("<section id=\"") + id + "\"><h2>";
    text(title);
    out_ += "</h2>";
    if (!subtitle.empty()) {
      out_ += "<p class=\"sub\">";
      text(subtitle);
      out_ += "</p>";
    }
    out_ += "\n";
  }

  void findings() {
    section("findings", "Findings");
    if (findings_.empty()) {
      out_ += "<p class=\"ok\">No findings: no deadlock, leak or rule violation was seen.</p></section>\n";
      return;
    }
    size_t counts[3] = {};
    for (const Finding* f : findings_) counts[static_cast<size_t>(f->severity)]++;
    out_ += "<p class=\"counts\">";
    for (Severity s : {Severity::kError, Severity::kWarning, Severity::kInfo}) {
      const size_t n = counts[static_cast<size_t>(s)];
      if (n)
        out_ += std::string("<span class=\"badge ") + severity_class(s) + "\">" + std::to_string(n) + " " +
                detect::severity_name(s) + (n > 1 && s != Severity::kInfo ? "s" : "") + "</span> ";
    }
    out_ += "</p>\n";
    for (size_t i = 0; i < findings_.size(); i++) finding(*findings_[i], i + 1);
    // The same as text, to paste into a ticket or a chat.
    std::ostringstream plain;
    write_findings_text(plain, std::vector<Finding>(in_.findings.begin(), in_.findings.end()));
    out_ += "<details class=\"plain\"><summary>The findings as text</summary><pre>";
    text(plain.str());
    out_ += "</pre></details>\n</section>\n";
  }

  void finding(const Finding& f, size_t number) {
    const detect::RuleInfo& rule = detect::rule_info(f.rule);
    out_ += "<article class=\"finding " + std::string(severity_class(f.severity)) + "\" id=\"finding-" +
            std::to_string(number) + "\">\n<h3><span class=\"badge " + severity_class(f.severity) + "\">" +
            detect::severity_name(f.severity) + "</span> <span class=\"rule\">" + rule.id + " " + rule.name +
            "</span> ";
    text(f.title.empty() ? rule.short_description : f.title);
    out_ += "</h3>\n";
    if (f.confidence != detect::Confidence::kCertain) {
      out_ += "<p class=\"confidence\"><b>Confidence: ";
      out_ += detect::confidence_name(f.confidence);
      out_ += "</b>";
      if (!f.confidence_reason.empty()) {
        out_ += " — ";
        text(f.confidence_reason);
      }
      out_ += "</p>\n";
    }
    if (!f.message.empty()) {
      out_ += "<p class=\"message\">";
      text(f.message);
      out_ += "</p>\n";
    }
    if (!f.cycle.empty()) {
      out_ += "<ol class=\"cycle\">";
      for (const detect::WaitEdge& e : f.cycle) {
        out_ += "<li><a href=\"#finding-" + std::to_string(number) + "-g" + std::to_string(e.from) +
                "\">goroutine " + std::to_string(e.from) + "</a> waits for <code>";
        text(object_label(f, e.object));
        out_ += "</code>";
        if (e.to) {
          out_ += ", ";
          text(e.relation.empty() ? "released by" : e.relation);
          out_ += " <a href=\"#finding-" + std::to_string(number) + "-g" + std::to_string(e.to) +
                  "\">goroutine " + std::to_string(e.to) + "</a>";
        }
        out_ += "</li>";
      }
      out_ += "</ol>\n";
    }
    if (graphs_.count(&f))
      out_ += "<p><a href=\"#graph-" + std::to_string(number) + "\">See the wait-for graph ↓</a></p>\n";
    if (auto where = where_to_look(f))
      out_ += "<p class=\"where\"><b>Where to look:</b> " + location_html(*where) + "</p>\n";
    out_ += "<p class=\"help\"><b>Help:</b> ";
    text(f.suggestion.empty() ? rule.help : f.suggestion);
    out_ += "</p>\n";
    if (!f.metrics.empty()) {
      out_ += "<p class=\"metrics\">";
      for (const auto& [name, value] : f.metrics) {
        out_ += "<span><b>";
        text(metric_label(name));
        out_ += "</b> ";
        text(metric_value_text(name, value));
        out_ += "</span> ";
      }
      out_ += "</p>\n";
    }
    for (const FindingGoroutine& g : f.goroutines) goroutine(f, g, number);
    if (!f.objects.empty()) {
      // Columns only for what some object has: an empty column is noise.
      const bool details =
          std::any_of(f.objects.begin(), f.objects.end(), [](auto& o) { return !o.detail.empty(); });
      const bool holders =
          std::any_of(f.objects.begin(), f.objects.end(), [](auto& o) { return !o.held_by.empty(); });
      const bool made = std::any_of(f.objects.begin(), f.objects.end(),
                                    [](auto& o) { return o.made_at && o.made_at->known(); });
      out_ += "<table class=\"objects\"><thead><tr><th>object</th>";
      if (details) out_ += "<th>state</th>";
      if (holders) out_ += "<th>held by</th>";
      if (made) out_ += "<th>made at</th>";
      out_ += "</tr></thead><tbody>";
      for (const FindingObject& o : f.objects) {
        out_ += "<tr><td><code>";
        text(object_label(f, o.address));
        out_ += "</code></td>";
        if (details) out_ += "<td>" + h(o.detail) + "</td>";
        if (holders) {
          out_ += "<td>";
          for (uint64_t goid : o.held_by) out_ += "goroutine " + std::to_string(goid) + " ";
          if (!o.held_by.empty() && o.holders_inferred)
            out_ += "<span class=\"dim\">(inferred from stacks)</span>";
          out_ += "</td>";
        }
        if (made)
          out_ += "<td>" + (o.made_at && o.made_at->known() ? location_html(*o.made_at) : "") + "</td>";
        out_ += "</tr>";
      }
      out_ += "</tbody></table>\n";
    }
    out_ += "</article>\n";
  }

  void goroutine(const Finding& f, const FindingGoroutine& g, size_t number) {
    std::string why = g.wait_reason.empty() ? g.state : g.wait_reason;
    if (const std::string blocked = blocked_text(g); !blocked.empty())
      why += (why.empty() ? "" : ", ") + blocked;
    out_ += "<details class=\"goroutine\" open id=\"finding-" + std::to_string(number) + "-g" +
            std::to_string(g.goid) + "\"><summary><b>goroutine " + std::to_string(g.goid) + "</b>";
    if (!why.empty()) out_ += " [" + h(why) + "]";
    if (g.site && g.site->known()) out_ += " at " + location_html(*g.site);
    out_ += "</summary>\n";
    if (!g.waits_on.empty()) {
      out_ += "<p>waits for ";
      for (size_t i = 0; i < g.waits_on.size(); i++) {
        out_ += (i ? ", " : "") + std::string("<code>") + h(object_label(f, g.waits_on[i])) + "</code>";
        if (const FindingObject* o = finding_object(f, g.waits_on[i]); o && !o->detail.empty())
          out_ += " (" + h(o->detail) + ")";
      }
      out_ += "</p>\n";
    }
    if (!g.holds.empty()) {
      out_ += "<p>holds ";
      for (size_t i = 0; i < g.holds.size(); i++)
        out_ += (i ? ", " : "") + std::string("<code>") + h(object_label(f, g.holds[i])) + "</code>";
      out_ += "</p>\n";
    }
    // The stack as Go prints it; the program's own frames stand out, the runtime's recede.
    out_ += "<ol class=\"stack\">";
    for (const FindingLocation& l : g.stack) {
      const bool runtime = l.known() && state::is_runtime_function(l.function);
      const bool site =
          g.site && g.site->function == l.function && g.site->line == l.line && g.site->file == l.file;
      out_ += std::string("<li class=\"") +
              (site      ? "site"
               : runtime ? "runtime"
                         : "own") +
              "\"><span class=\"fn\">";
      text(l.function.empty() ? address_text(l.pc) : l.function);
      out_ += l.inlined ? "(...)" : "()";
      out_ += "</span> <span class=\"file\">";
      text(l.file.empty() ? "?" : l.file + ":" + std::to_string(l.line));
      out_ += "</span></li>";
    }
    out_ += "</ol>\n";
    if (g.created_at) {
      out_ += "<p class=\"created\">created by " + location_html(*g.created_at);
      if (g.parent_goid) out_ += " in goroutine " + std::to_string(g.parent_goid);
      out_ += "</p>\n";
    }
    out_ += "</details>\n";
  }

  void graphs() {
    section("graphs", "Wait-for graphs",
            "Who waits for what, and who holds it. The cycle that can never resolve is drawn in red.");
    size_t drawn = 0;
    for (size_t i = 0; i < findings_.size(); i++) {
      const Finding& f = *findings_[i];
      if (!graphs_.count(&f)) continue;
      WaitForGraph graph(f, o_.max_graph_nodes);
      if (!graph.drawable()) continue;
      drawn++;
      out_ += "<figure class=\"graph\" id=\"graph-" + std::to_string(i + 1) + "\">" + graph.svg(i + 1) +
              "<figcaption><a href=\"#finding-" + std::to_string(i + 1) + "\">";
      text(std::string(detect::rule_info(f.rule).id) + ": " + f.title);
      out_ += "</a>";
      if (graph.left_out())
        out_ += " — " + h(plural(graph.left_out(), "more goroutine")) + " of this finding not drawn";
      out_ += "</figcaption></figure>\n";
    }
    if (!drawn) out_ += "<p class=\"dim\">No deadlock was found: there is no wait-for cycle to draw.</p>\n";
    out_ += "</section>\n";
  }

  void timeline() {
    section("timeline", "Goroutine timeline");
    if (!in_.timeline) {
      out_ += "<p class=\"dim\">No timeline was recorded for this report.</p></section>\n";
      return;
    }
    out_ +=
        "<div class=\"legend\"><span class=\"sw running\"></span>running <span class=\"sw "
        "runnable\"></span>runnable "
        "(waiting for a CPU) <span class=\"sw blocked\"></span>blocked <span class=\"hint\">Drag across the "
        "lanes to "
        "zoom in, double-click to zoom out; hover a bar for what it was doing.</span></div>\n"
        "<div id=\"timeline-note\" class=\"sub\"></div>"
        "<div id=\"timeline-view\" class=\"chart\"><noscript>The timeline needs "
        "JavaScript.</noscript></div>\n"
        "</section>\n";
  }

  void flamegraph() {
    section("flamegraph", "Blocking flamegraph",
            "Where goroutines spent their time blocked: each bar is a function, as wide as the time spent "
            "blocked "
            "under it; callers above callees. Click a bar to zoom in, click the top bar to zoom out.");
    if (in_.blocking.empty())
      out_ += "<p class=\"dim\">No blocking samples were recorded.</p>";
    else
      out_ +=
          "<div id=\"flame-view\" class=\"chart\"><noscript>The flamegraph needs "
          "JavaScript.</noscript></div>";
    out_ += "\n</section>\n";
  }

  void sites() {
    section("sites", "Top blocking sites", "Where goroutines blocked, by total time blocked there.");
    if (!in_.state) {
      out_ += "<p class=\"dim\">Not available.</p></section>\n";
      return;
    }
    std::vector<state::SiteBlocking> rows;
    for (auto& site : in_.state->blocking_by_site(now_ns_))
      if (site.site.known() || o_.show_runtime) rows.push_back(std::move(site));
    if (rows.empty()) {
      out_ += "<p class=\"dim\">No goroutine of the program blocked during the trace.</p></section>\n";
      return;
    }
    const int64_t longest = std::max<int64_t>(1, rows.front().totals.total_ns);
    out_ +=
        "<table class=\"data\"><thead><tr><th>site</th><th>reason</th><th class=\"num\">count</th>"
        "<th class=\"num\">total</th><th></th><th class=\"num\">max</th><th "
        "class=\"num\">mean</th></tr></thead><tbody>";
    for (size_t i = 0; i < rows.size() && i < o_.max_sites; i++) {
      const state::SiteBlocking& s = rows[i];
      const state::BlockingTotals& t = s.totals;
      out_ += "<tr><td>" + frame_html(s.site) + "</td><td>" + h(reason_name(in_.stream, s.wait_reason)) +
              "</td><td class=\"num\">" + h(number_text(t.count));
      if (t.ongoing) out_ += " <span class=\"dim\">(" + h(number_text(t.ongoing)) + " now)</span>";
      char bar[96];
      std::snprintf(bar, sizeof bar, "<td class=\"bar\"><span style=\"width:%.1f%%\"></span></td>",
                    100.0 * static_cast<double>(t.total_ns) / static_cast<double>(longest));
      out_ += "</td><td class=\"num\">" + h(duration_text(t.total_ns)) + "</td>" + bar +
              "<td class=\"num\">" + h(duration_text(t.max_ns)) + "</td><td class=\"num\">" +
              h(duration_text(t.count ? t.total_ns / static_cast<int64_t>(t.count) : 0)) + "</td></tr>";
    }
    out_ += "</tbody></table>\n";
    if (rows.size() > o_.max_sites)
      note_later(plural(rows.size() - o_.max_sites, "more blocking site") +
                 " not listed (the table shows the top " + std::to_string(o_.max_sites) + ").");
    out_ += "</section>\n";
  }

  void channels() {
    section("channels", "Channels");
    if (!in_.state) {
      out_ += "<p class=\"dim\">Not available.</p></section>\n";
      return;
    }
    struct Row {
      const state::ChannelInfo* c;
      std::vector<uint64_t> waiters;
    };
    std::vector<Row> rows;
    for (const auto& [address, c] : in_.state->channels()) rows.push_back({&c, in_.state->waiters(address)});
    if (rows.empty()) {
      out_ += "<p class=\"dim\">No channel was seen.</p></section>\n";
      return;
    }
    // Channels with goroutines stuck on them first, then the busiest.
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      const uint64_t oa = a.c->sends + a.c->recvs + a.c->recvs_closed,
                     ob = b.c->sends + b.c->recvs + b.c->recvs_closed;
      const size_t wa = a.waiters.size(), wb = b.waiters.size();
      return std::tie(wb, ob, a.c->address) < std::tie(wa, oa, b.c->address);
    });
    out_ +=
        "<table class=\"data\"><thead><tr><th>channel</th><th class=\"num\">capacity</th><th "
        "class=\"num\">element"
        "</th><th class=\"num\">sends</th><th class=\"num\">receives</th><th>closed</th><th>waiting now</th>"
        "<th class=\"num\">users</th><th>made at</th></tr></thead><tbody>";
    for (size_t i = 0; i < rows.size() && i < o_.max_channels; i++) {
      const state::ChannelInfo& c = *rows[i].c;
      out_ += "<tr><td><code>" + h(address_text(c.address)) + "</code></td><td class=\"num\">";
      if (c.capacity < 0)
        out_ += "<span class=\"dim\" title=\"made before the trace began\">?</span>";
      else
        out_ += c.capacity == 0 ? "unbuffered" : h(number_text(static_cast<uint64_t>(c.capacity)));
      out_ += "</td><td class=\"num\">" +
              (c.elem_size < 0 ? std::string("?") : std::to_string(c.elem_size) + " B") +
              "</td><td class=\"num\">" + h(number_text(c.sends)) + "</td><td class=\"num\">" +
              h(number_text(c.recvs));
      if (c.recvs_closed)
        out_ += " <span class=\"dim\">+" + h(number_text(c.recvs_closed)) + " closed</span>";
      out_ += std::string("</td><td>") + (c.closed ? "closed" : "") + "</td><td>";
      const auto& w = rows[i].waiters;
      for (size_t k = 0; k < w.size() && k < 8; k++) out_ += "g" + std::to_string(w[k]) + " ";
      if (w.size() > 8) out_ += "+" + std::to_string(w.size() - 8) + " more";
      out_ += "</td><td class=\"num\">" + h(number_text(c.users.size())) + (c.users_truncated ? "+" : "") +
              "</td><td>";
      if (c.made_at && in_.symbols)
        if (const state::CodeFrame* site = in_.symbols->stack(c.made_at).site_frame())
          out_ += frame_html(*site);
      out_ += "</td></tr>";
    }
    out_ += "</tbody></table>\n";
    if (rows.size() > o_.max_channels)
      note_later(plural(rows.size() - o_.max_channels, "more channel") + " not listed (the table shows " +
                 std::to_string(o_.max_channels) + ").");
    if (std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.c->sends + r.c->recvs == 0; }))
      out_ += "<p class=\"sub\">Counts of sends and receives need every operation traced (--all-ops).</p>\n";
    out_ += "</section>\n";
  }

  void note_later(std::string s) { late_notes_.push_back(std::move(s)); }

  void notes() {
    section("notes", "Notes and counters");
    out_ += "<ul class=\"notes\">";
    for (const std::string& n : in_.notes) out_ += "<li>" + h(n) + "</li>";
    for (const std::string& n : late_notes_) out_ += "<li>" + h(n) + "</li>";
    if (in_.timeline && in_.timeline->segments_dropped)
      out_ += "<li>" + h(plural(in_.timeline->segments_dropped, "timeline segment")) +
              " past the recording's memory bound are not in the timeline.</li>";
    out_ += "</ul>\n";
    if (in_.end) {
      const model::TraceCounters& c = in_.end->counters;
      const std::pair<const char*, uint64_t> rows[] = {
          {"events seen", c.events_seen},
          {"lost: ring buffer full", c.ringbuf_full},
          {"lost: malformed records", c.malformed},
          {"lost: entry or return seen alone", c.unpaired},
          {"incomplete: goroutine id unreadable", c.goid_unreadable},
          {"incomplete: a field unreadable", c.field_unreadable},
          {"incomplete: stack cut short", c.stack_cut},
      };
      out_ += "<table class=\"data counters\"><tbody>";
      for (const auto& [name, value] : rows)
        out_ += std::string("<tr") +
                (value && std::string_view(name).starts_with("lost") ? " class=\"bad\"" : "") + "><td>" +
                name + "</td><td class=\"num\">" + h(number_text(value)) + "</td></tr>";
      out_ += "</tbody></table>\n";
    }
    if (in_.state) {
      const state::GoroutineCounts g = in_.state->counts();
      out_ += "<p class=\"sub\">Goroutines: " + h(number_text(g.seen)) + " seen, " +
              h(number_text(g.created)) + " created, " + h(number_text(g.exited)) + " exited, " +
              h(number_text(g.alive)) + " alive at the end (" + h(number_text(g.runtime)) +
              " of them the runtime's own).</p>\n";
    }
    out_ += "</section>\n";
  }

  // ---- the data the script draws ----

  json timeline_json() {
    const Timeline& t = *in_.timeline;
    StringTable strings;
    struct Lane {
      const GoroutineTrack* track;
      int64_t blocked_ns;
    };
    std::vector<Lane> lanes;
    size_t runtime_hidden = 0;
    for (const GoroutineTrack& track : t.tracks) {
      if (track.runtime && !o_.show_runtime) {
        runtime_hidden++;
        continue;
      }
      int64_t blocked = 0;
      for (const Segment& s : track.segments)
        if (s.state == state::GoroutineState::kBlocked) blocked += s.end_ns - s.start_ns;
      lanes.push_back({&track, blocked});
    }
    std::stable_sort(lanes.begin(), lanes.end(), [](const Lane& a, const Lane& b) {
      return a.blocked_ns != b.blocked_ns ? a.blocked_ns > b.blocked_ns : a.track->goid < b.track->goid;
    });
    const size_t left_out = lanes.size() > o_.max_lanes ? lanes.size() - o_.max_lanes : 0;
    if (left_out) lanes.resize(o_.max_lanes);

    const int64_t t0 = t.start_ns;
    const int64_t span = std::max<int64_t>(1, t.end_ns - t.start_ns);
    json lanes_json = json::array();
    uint64_t merged_total = 0;
    for (const Lane& lane : lanes) {
      const GoroutineTrack& track = *lane.track;
      std::string name;
      if (in_.symbols && track.start_pc) name = std::string(in_.symbols->function_at(track.start_pc));
      std::string created;
      if (in_.symbols && track.created_pc) {
        const auto frames = in_.symbols->frames_at(track.created_pc, true);
        if (!frames.empty() && frames.front().known()) created = frame_text(frames.front());
      }
      json segs = json::array();
      merged_total += lane_segments(track, t0, span, strings, segs);
      lanes_json.push_back({{"goid", track.goid},
                            {"name", name},
                            {"created", created},
                            {"parent", track.parent_goid},
                            {"blocked", lane.blocked_ns},
                            {"born", track.created_ns ? track.created_ns - t0 : -1},
                            {"died", track.exited_ns ? track.exited_ns - t0 : -1},
                            {"segs", std::move(segs)}});
    }
    json counters = json::array();
    constexpr size_t kMaxCounterSamples = 3000;
    const size_t stride = t.counters.size() / kMaxCounterSamples + 1;
    for (size_t i = 0; i < t.counters.size(); i += stride) {
      // The most goroutines of each stride, so a peak is never skipped.
      const CounterSample* best = &t.counters[i];
      for (size_t k = i; k < std::min(t.counters.size(), i + stride); k++)
        if (t.counters[k].goroutines > best->goroutines) best = &t.counters[k];
      counters.push_back(json::array({best->time_ns - t0, best->goroutines, best->blocked}));
    }
    if (left_out)
      note_later("The timeline shows the " + std::to_string(o_.max_lanes) + " goroutines blocked longest; " +
                 plural(left_out, "other goroutine") + " are not drawn.");
    if (runtime_hidden)
      note_later("The timeline leaves out " + plural(runtime_hidden, "goroutine") +
                 " of the runtime itself.");
    if (merged_total)
      note_later(plural(merged_total, "short timeline segment") +
                 " merged into their neighbours (lanes of more than " +
                 std::to_string(o_.max_segments_per_lane) + " segments are drawn at that resolution).");
    return {{"span", span},
            {"lanes", std::move(lanes_json)},
            {"strings", std::move(strings.values)},
            {"counters", std::move(counters)},
            {"left_out", left_out},
            {"runtime_hidden", runtime_hidden},
            {"merged", merged_total},
            {"total", t.tracks.size()}};
  }

  // [start, end, state (0 running, 1 runnable, 2 blocked), what id (-1), site id (-1), merged].
  // Past max_segments_per_lane, segments starting in one slice of the trace are drawn as
  // one, in the state that took most of it (they are narrower than a pixel anyway).
  uint64_t lane_segments(const GoroutineTrack& track, int64_t t0, int64_t span, StringTable& strings,
                         json& out) const {
    const auto state_code = [](state::GoroutineState s) {
      return s == state::GoroutineState::kBlocked ? 2 : s == state::GoroutineState::kRunnable ? 1 : 0;
    };
    const auto what_of = [&](const Segment& s) -> int64_t {
      if (s.state != state::GoroutineState::kBlocked) return -1;
      std::string what = reason_name(in_.stream, s.wait_reason);
      if (s.object) what += " on " + EventFormatter::object_text(s.object, s.object_kind);
      return static_cast<int64_t>(strings.id(what));
    };
    const auto site_of = [&](const Segment& s) -> int64_t {
      if (!s.stack || !in_.symbols) return -1;
      const state::CodeFrame* site = in_.symbols->stack(s.stack).site_frame();
      return site ? static_cast<int64_t>(strings.id(frame_text(*site))) : -1;
    };
    const std::vector<Segment>& segs = track.segments;
    if (segs.size() <= o_.max_segments_per_lane) {
      for (const Segment& s : segs)
        out.push_back(
            json::array({s.start_ns - t0, s.end_ns - t0, state_code(s.state), what_of(s), site_of(s), 0}));
      return 0;
    }
    const double slice = static_cast<double>(span) / static_cast<double>(o_.max_segments_per_lane);
    uint64_t merged = 0;
    for (size_t i = 0; i < segs.size();) {
      const auto bucket = static_cast<int64_t>(static_cast<double>(segs[i].start_ns - t0) / slice);
      size_t j = i;
      int64_t time_in[3] = {};
      const Segment* longest_blocked = nullptr;
      while (j < segs.size() &&
             static_cast<int64_t>(static_cast<double>(segs[j].start_ns - t0) / slice) == bucket) {
        time_in[state_code(segs[j].state)] += segs[j].end_ns - segs[j].start_ns;
        if (segs[j].state == state::GoroutineState::kBlocked &&
            (!longest_blocked ||
             segs[j].end_ns - segs[j].start_ns > longest_blocked->end_ns - longest_blocked->start_ns))
          longest_blocked = &segs[j];
        j++;
      }
      const int state = static_cast<int>(std::max_element(time_in, time_in + 3) - time_in);
      const Segment& shown = state == 2 && longest_blocked ? *longest_blocked : segs[i];
      out.push_back(
          json::array({segs[i].start_ns - t0, segs[j - 1].end_ns - t0, state,
                       state == 2 ? what_of(shown) : -1, state == 2 ? site_of(shown) : -1, j - i - 1}));
      merged += j - i - 1;
      i = j;
    }
    return merged;
  }

  json flame_data() {
    const FlameNode root = flame_tree(in_.blocking);
    StringTable strings;
    uint64_t pruned = 0;
    const auto min_delay = static_cast<int64_t>(static_cast<double>(root.delay) * o_.flame_min_fraction);
    json tree = flame_json(root, std::max<int64_t>(1, min_delay), strings, pruned);
    if (pruned)
      note_later(plural(pruned, "flamegraph frame") + " under " +
                 metric_value_text("", o_.flame_min_fraction * 100) + "% of the blocked time are not drawn.");
    return {{"strings", std::move(strings.values)}, {"root", std::move(tree)}, {"pruned", pruned}};
  }

  const HtmlReportInput& in_;
  const HtmlReportOptions& o_;
  std::vector<const Finding*> findings_;
  std::set<const Finding*> graphs_;      // findings with a wait-for graph
  std::vector<std::string> late_notes_;  // said in the notes section
  int64_t now_ns_ = 0;
  std::string out_;
};

}  // namespace

std::string html_text(std::string_view s) {
  std::string out;
  append_html(out, s);
  return out;
}

std::string script_json(const json& value) {
  const std::string dumped = value.dump(-1, ' ', true, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  // Outside strings JSON has none of these characters, so this changes only string contents.
  for (char c : dumped) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

std::string html_report(const HtmlReportInput& in, const HtmlReportOptions& options) {
  return Page(in, options).render();
}

Expected<void> write_html_report(const std::string& path, const HtmlReportInput& in,
                                 const HtmlReportOptions& options) {
  const std::string page = html_report(in, options);
  return write_bytes(path, std::vector<uint8_t>(page.begin(), page.end()));
}

}  // namespace goscope::output
