#include "output/findings_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <string_view>

#include "common/user_files.h"
#include "state/stack_symbolizer.h"
#include "output/display.h"
#include "output/file_kind.h"
#include "output/event_format.h"

namespace goscope::output {

using detect::Finding;
using detect::FindingGoroutine;
using detect::FindingObject;
using detect::Location;
using detect::Severity;
using nlohmann::json;

namespace {

constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";

const char* severity_color(Severity s) {
  switch (s) {
    case Severity::kError:
      return "\033[1;31m";  // bold red
    case Severity::kWarning:
      return "\033[1;33m";  // bold yellow
    case Severity::kInfo:
      return "\033[1;36m";  // bold cyan
  }
  return "";
}

// The Location as the symbolizer's frame, to share display.h's rendering.
state::CodeFrame frame_of(const Location& l) {
  return {.function = l.function, .file = l.file, .line = l.line, .inlined = l.inlined, .pc = l.pc};
}

// A metric in nanoseconds ("wait_ns"), shown as a duration.
constexpr std::string_view kNs = "_ns";
bool is_ns_metric(const std::string& name) {
  return name.size() > kNs.size() && name.ends_with(kNs);
}

// "wait=1.5s", "count=31".
std::string metric_text(const std::string& name, double value) {
  return metric_label(name) + "=" + metric_value_text(name, value);
}

// "main.transfer at /home/u/app/bank.go:42"; the parts known.
std::string location_text(const Location& l) {
  std::string s = l.function;
  if (!l.file.empty()) {
    if (!s.empty()) s += " at ";
    s += l.file;
    if (l.line > 0) s += ":" + std::to_string(l.line);
  }
  if (s.empty()) s = l.pc ? address_text(l.pc) : "unknown";
  return s;
}

// Lines of `text`, each after `indent`.
void write_indented(std::ostream& out, std::string_view text, std::string_view indent) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    out << indent << text.substr(0, end) << '\n';
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

class TextWriter {
 public:
  TextWriter(std::ostream& out, const TextOptions& options) : out_(out), o_(options) {}

  void finding(const Finding& f) {
    const detect::RuleInfo& rule = detect::rule_info(f.rule);
    out_ << paint(severity_color(f.severity),
                  std::string(detect::severity_name(f.severity)) + "[" + rule.id + " " + rule.name + "]")
         << paint(kBold, ": " + (f.title.empty() ? std::string(rule.short_description) : f.title)) << '\n';
    if (f.confidence != detect::Confidence::kCertain) {
      out_ << "  confidence: " << detect::confidence_name(f.confidence);
      if (!f.confidence_reason.empty()) out_ << " — " << f.confidence_reason;
      out_ << '\n';
    }
    if (!f.message.empty()) write_indented(out_, f.message, "  ");
    if (!f.cycle.empty()) {
      out_ << '\n';
      for (const detect::WaitEdge& e : f.cycle) {
        out_ << "  goroutine " << e.from << " waits for " << object_label(f, e.object);
        if (e.to) out_ << ", " << (e.relation.empty() ? "released by" : e.relation) << " goroutine " << e.to;
        out_ << '\n';
      }
    }
    if (!f.metrics.empty()) {
      out_ << "  ";
      const char* sep = "";
      for (const auto& [name, value] : f.metrics) {
        out_ << sep << metric_text(name, value);
        sep = ", ";
      }
      out_ << '\n';
    }
    if (o_.verbose) {
      if (f.since_ns > 0 && f.detected_ns >= f.since_ns)
        out_ << "  holds for " << duration_text(f.detected_ns - f.since_ns) << " (since " << f.since_ns
             << " ns, detected " << f.detected_ns << " ns, CLOCK_MONOTONIC)\n";
      if (!f.key.empty()) out_ << "  key: " << f.key << '\n';
      for (const FindingObject& o : f.objects) object(f, o);
    }
    for (const FindingGoroutine& g : f.goroutines) goroutine(f, g);
    if (!f.goroutines.empty()) out_ << '\n';
    if (auto where = primary_location(f))
      out_ << paint(kBold, "where to look:") << ' ' << location_text(*where) << '\n';
    out_ << paint(kBold, "help:") << ' ' << (f.suggestion.empty() ? rule.help : f.suggestion) << '\n';
  }

  void summary(const std::vector<Finding>& findings) {
    if (findings.empty()) {
      out_ << "no findings\n";
      return;
    }
    size_t counts[3] = {};
    for (const Finding& f : findings) counts[static_cast<size_t>(f.severity)]++;
    std::string s = std::to_string(findings.size()) + (findings.size() == 1 ? " finding: " : " findings: ");
    const char* sep = "";
    for (Severity sev : {Severity::kError, Severity::kWarning, Severity::kInfo}) {
      const size_t n = counts[static_cast<size_t>(sev)];
      if (!n) continue;
      s += sep + std::to_string(n) + " " + detect::severity_name(sev) +
           (n > 1 && sev != Severity::kInfo ? "s" : "");
      sep = ", ";
    }
    out_ << paint(severity_color(*detect::worst_severity(findings)), s) << '\n';
  }

 private:
  std::string paint(const char* color, const std::string& text) const {
    return o_.color ? color + text + kReset : text;
  }

  // Verbose: every object with what the detector knows of it.
  void object(const Finding& f, const FindingObject& o) {
    out_ << "  object " << object_label(f, o.address);
    if (!o.detail.empty()) out_ << ": " << o.detail;
    if (!o.held_by.empty()) {
      out_ << (o.holders_inferred ? ", held (inferred from stacks) by" : ", held by");
      for (uint64_t goid : o.held_by) out_ << " goroutine " << goid;
    }
    if (o.made_at && o.made_at->known()) out_ << ", made at " << frame_text(frame_of(*o.made_at));
    out_ << '\n';
  }

  void goroutine(const Finding& f, const FindingGoroutine& g) {
    out_ << '\n';
    std::string bracket = g.wait_reason.empty() ? g.state : g.wait_reason;
    if (const std::string blocked = blocked_text(g); !blocked.empty())
      bracket += (bracket.empty() ? "" : ", ") + blocked;
    std::string header = "goroutine " + std::to_string(g.goid);
    if (!bracket.empty()) header += " [" + bracket + "]";
    out_ << paint(kBold, header + ":") << '\n';
    stack(g);
    // The cycle already says what each goroutine waits for; otherwise (a leak) this is the story.
    if (!g.waits_on.empty() && (f.cycle.empty() || o_.verbose)) {
      out_ << "waits for: ";
      const char* sep = "";
      for (uint64_t a : g.waits_on) {
        out_ << sep << object_label(f, a);
        if (const FindingObject* o = finding_object(f, a)) {
          if (!o->detail.empty()) out_ << " (" << o->detail << ")";
          if (o->made_at && o->made_at->known()) out_ << ", made at " << frame_text(frame_of(*o->made_at));
        }
        sep = "; ";
      }
      out_ << '\n';
    }
    if (!g.holds.empty()) {
      const bool inferred = std::any_of(g.holds.begin(), g.holds.end(), [&](uint64_t a) {
        const FindingObject* o = finding_object(f, a);
        return o && o->holders_inferred;
      });
      out_ << (inferred ? "holds (inferred from stacks): " : "holds: ");
      const char* sep = "";
      for (uint64_t a : g.holds) {
        out_ << sep << object_label(f, a);
        sep = ", ";
      }
      out_ << '\n';
    }
    if (g.created_at) {
      out_ << "created by " << (g.created_at->function.empty() ? "?" : g.created_at->function);
      if (g.parent_goid) out_ << " in goroutine " << g.parent_goid;
      out_ << '\n';
      file_line(*g.created_at);
    }
  }

  // Go's traceback: "function(...)" for an inlined call, "function()" otherwise, then
  // "\tfile:line". Runtime frames only when verbose, unless there is nothing else.
  void stack(const FindingGoroutine& g) {
    std::vector<const Location*> frames;
    for (const Location& l : g.stack)
      if (o_.verbose || !l.known() || !state::is_runtime_function(l.function)) frames.push_back(&l);
    if (frames.empty())
      for (const Location& l : g.stack) frames.push_back(&l);
    if (frames.empty() && g.site) frames.push_back(&*g.site);
    const size_t shown = o_.max_stack_frames ? std::min(frames.size(), o_.max_stack_frames) : frames.size();
    for (size_t i = 0; i < shown; i++) {
      const Location& l = *frames[i];
      out_ << (l.function.empty() ? "?" : l.function) << (l.inlined ? "(...)" : "()") << '\n';
      file_line(l);
    }
    if (shown < frames.size()) out_ << "..." << frames.size() - shown << " frames elided...\n";
  }

  void file_line(const Location& l) {
    std::string s = "\t";
    if (!l.file.empty())
      s += l.file + ":" + std::to_string(l.line);
    else
      s += "?";
    if (l.pc && (o_.verbose || l.file.empty())) s += " pc=" + address_text(l.pc);
    out_ << paint(kDim, s) << '\n';
  }

  std::ostream& out_;
  const TextOptions& o_;
};

// ---- JSON ----

json addresses_json(const std::vector<uint64_t>& addresses) {
  json a = json::array();
  for (uint64_t x : addresses) a.push_back(address_text(x));
  return a;
}

json location_json(const Location& l) {
  json j = {{"function", valid_utf8(l.function)},
            {"file", valid_utf8(l.file)},
            {"line", l.line},
            {"inlined", l.inlined}};
  if (l.pc) j["pc"] = address_text(l.pc);
  return j;
}

json location_json(const std::optional<Location>& l) {
  return l ? location_json(*l) : json(nullptr);
}

json goroutine_json(const FindingGoroutine& g) {
  json stack = json::array();
  for (const Location& l : g.stack) stack.push_back(location_json(l));
  return {{"goid", g.goid},
          {"state", valid_utf8(g.state)},
          {"wait_reason", valid_utf8(g.wait_reason)},
          {"waits_on", addresses_json(g.waits_on)},
          {"holds", addresses_json(g.holds)},
          {"blocked_ns", g.blocked_ns},
          {"since_exact", g.since_exact},
          {"site", location_json(g.site)},
          {"stack", std::move(stack)},
          {"created_at", location_json(g.created_at)},
          {"parent_goid", g.parent_goid}};
}

json object_json(const FindingObject& o) {
  return {{"address", address_text(o.address)},
          {"kind", model::object_kind_name(o.kind)},
          {"name", valid_utf8(o.name)},
          {"detail", valid_utf8(o.detail)},
          {"held_by", o.held_by},
          {"holders_inferred", o.holders_inferred},
          {"made_at", location_json(o.made_at)}};
}

json finding_json(const Finding& f) {
  const detect::RuleInfo& rule = detect::rule_info(f.rule);
  json goroutines = json::array();
  for (const FindingGoroutine& g : f.goroutines) goroutines.push_back(goroutine_json(g));
  json objects = json::array();
  for (const FindingObject& o : f.objects) objects.push_back(object_json(o));
  json cycle = json::array();
  for (const detect::WaitEdge& e : f.cycle)
    cycle.push_back({{"from", e.from},
                     {"object", address_text(e.object)},
                     {"to", e.to},
                     {"relation", valid_utf8(e.relation)}});
  json metrics = json::object();
  for (const auto& [name, value] : f.metrics) metrics[valid_utf8(name)] = value;
  return {{"rule", rule.id},
          {"rule_name", rule.name},
          {"severity", detect::severity_name(f.severity)},
          {"confidence", detect::confidence_name(f.confidence)},
          {"confidence_reason", valid_utf8(f.confidence_reason)},
          {"title", valid_utf8(f.title)},
          {"message", valid_utf8(f.message)},
          {"suggestion", valid_utf8(f.suggestion)},
          {"location", location_json(f.location)},
          {"goroutines", std::move(goroutines)},
          {"objects", std::move(objects)},
          {"cycle", std::move(cycle)},
          {"metrics", std::move(metrics)},
          {"since_ns", f.since_ns},
          {"detected_ns", f.detected_ns},
          {"key", valid_utf8(f.key)},
          {"fingerprint", valid_utf8(f.fingerprint.empty() ? f.key : f.fingerprint)}};
}

// ---- SARIF ----

constexpr const char* kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";
constexpr const char* kSourceRootId = "SRCROOT";
constexpr const char* kFingerprint = "goscope/v1";

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "note";
  }
  return "none";
}

// A path as the path of a URI (RFC 3986): bytes outside the unreserved and sub-delims
// characters (spaces, '%', '#', '?', non-ASCII, bad UTF-8) percent-encoded.
std::string uri_path(std::string_view path) {
  static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/";
  std::string out;
  for (unsigned char c : path) {
    if ((c < 0x80 && std::isalnum(c)) || kAllowed.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class SarifWriter {
 public:
  explicit SarifWriter(const SarifOptions& options) : o_(options) {
    if (o_.source_root) {
      root_ = *o_.source_root;
      while (!root_.empty() && root_.back() == '/') root_.pop_back();
    }
  }

  json run(const std::vector<Finding>& findings) const {
    json driver = {{"name", "goscope"}, {"rules", rules()}};
    if (!o_.information_uri.empty()) driver["informationUri"] = o_.information_uri;
    if (!o_.tool_version.empty()) driver["version"] = valid_utf8(o_.tool_version);
    json results = json::array();
    for (const Finding* f : by_severity(findings)) results.push_back(result(*f));
    json run = {{"tool", {{"driver", std::move(driver)}}}, {"results", std::move(results)}};
    if (o_.source_root) {
      const std::string base =
          root_.starts_with('/') || root_.empty() ? "file://" + uri_path(root_) + "/" : uri_path(root_) + "/";
      run["originalUriBaseIds"] = {{kSourceRootId, {{"uri", base}}}};
    }
    return run;
  }

 private:
  static json rules() {
    json rules = json::array();
    for (const detect::RuleInfo& r : detect::all_rules()) {
      rules.push_back({{"id", r.id},
                       {"name", r.name},
                       {"shortDescription", {{"text", r.short_description}}},
                       {"fullDescription", {{"text", r.help}}},
                       {"help", {{"text", r.help}}},
                       {"defaultConfiguration", {{"level", sarif_level(r.default_severity)}}},
                       {"properties", {{"tags", json::array({"concurrency", "goscope"})}}}});
    }
    return rules;
  }

  // artifactLocation of a file as the binary records it; nullopt for none.
  std::optional<json> artifact(const std::string& file) const {
    if (file.empty()) return std::nullopt;
    if (file.front() == '/') {
      if (o_.source_root && file.size() > root_.size() + 1 && file.starts_with(root_) &&
          file[root_.size()] == '/')
        return json{{"uri", uri_path(std::string_view(file).substr(root_.size() + 1))},
                    {"uriBaseId", kSourceRootId}};
      return json{{"uri", "file://" + uri_path(file)}};
    }
    // A -trimpath build's "module/path/file.go", or a standard library's "sync/mutex.go".
    json a = {{"uri", uri_path(file)}};
    if (o_.source_root) a["uriBaseId"] = kSourceRootId;
    return a;
  }

  // A SARIF location: physical when the file is known (a region only for a real line:
  // code scanning rejects startLine 0), logical when the function is.
  std::optional<json> location(const Location& l, const std::string& message = {}) const {
    json loc = json::object();
    if (auto a = artifact(l.file)) {
      json physical = {{"artifactLocation", std::move(*a)}};
      if (l.line >= 1) physical["region"] = {{"startLine", l.line}};
      loc["physicalLocation"] = std::move(physical);
    }
    if (!l.function.empty()) loc["logicalLocations"] = logical(l.function);
    if (loc.empty()) return std::nullopt;
    if (!message.empty()) loc["message"] = {{"text", valid_utf8(message)}};
    return loc;
  }

  static json logical(const std::string& function) {
    return json::array({{{"fullyQualifiedName", valid_utf8(function)}, {"kind", "function"}}});
  }

  // The result's location: the first of the finding's location, the goroutines' sites,
  // their frames (the program's first) that has a file.
  std::optional<json> sarif_location(const Finding& f) const {
    std::vector<const Location*> candidates;
    if (f.location) candidates.push_back(&*f.location);
    for (const FindingGoroutine& g : f.goroutines)
      if (g.site) candidates.push_back(&*g.site);
    for (bool runtime : {false, true})
      for (const FindingGoroutine& g : f.goroutines)
        for (const Location& l : g.stack)
          if (l.known() && state::is_runtime_function(l.function) == runtime) candidates.push_back(&l);
    for (const Location* l : candidates)
      if (!l->file.empty()) return location(*l);
    return std::nullopt;
  }

  static std::string goroutine_text(const FindingGoroutine& g) {
    std::string s = "goroutine " + std::to_string(g.goid);
    std::string why = g.wait_reason.empty() ? g.state : g.wait_reason;
    if (const std::string blocked = blocked_text(g); !blocked.empty())
      why += (why.empty() ? "" : ", ") + blocked;
    if (!why.empty()) s += " [" + why + "]";
    return s;
  }

  static std::string message(const Finding& f) {
    std::string text = f.title.empty() ? detect::rule_info(f.rule).short_description : f.title;
    if (!f.message.empty()) text += "\n\n" + f.message;
    if (!f.cycle.empty()) {
      text += "\n";
      for (const detect::WaitEdge& e : f.cycle) {
        text += "\ngoroutine " + std::to_string(e.from) + " waits for " + object_label(f, e.object);
        if (e.to)
          text += ", " + (e.relation.empty() ? std::string("released by") : e.relation) + " goroutine " +
                  std::to_string(e.to);
      }
    }
    if (f.confidence != detect::Confidence::kCertain)
      text += std::string("\n\nConfidence: ") + detect::confidence_name(f.confidence) +
              (f.confidence_reason.empty() ? "" : " (" + f.confidence_reason + ")");
    if (!f.suggestion.empty()) text += "\n\n" + f.suggestion;
    return text;
  }

  // The goroutine's stack in execution order (outermost call first), where the file is known.
  std::optional<json> thread_flow(const FindingGoroutine& g) const {
    json locations = json::array();
    int nesting = 0;
    for (auto it = g.stack.rbegin(); it != g.stack.rend(); ++it) {
      const bool innermost = std::next(it) == g.stack.rend();
      auto loc = location(*it, innermost ? goroutine_text(g) + " blocks here" : std::string());
      if (!loc || !loc->contains("physicalLocation")) continue;
      const bool runtime = it->known() && state::is_runtime_function(it->function);
      const bool site =
          g.site && g.site->function == it->function && g.site->file == it->file && g.site->line == it->line;
      locations.push_back({{"location", std::move(*loc)},
                           {"nestingLevel", nesting++},
                           {"importance", site      ? "essential"
                                          : runtime ? "unimportant"
                                                    : "important"}});
    }
    if (locations.empty() && g.site)
      if (auto loc = location(*g.site, goroutine_text(g) + " blocks here");
          loc && loc->contains("physicalLocation"))
        locations.push_back(
            {{"location", std::move(*loc)}, {"nestingLevel", 0}, {"importance", "essential"}});
    if (locations.empty()) return std::nullopt;
    return json{{"id", "goroutine " + std::to_string(g.goid)},
                {"message", {{"text", valid_utf8(goroutine_text(g))}}},
                {"locations", std::move(locations)}};
  }

  json result(const Finding& f) const {
    const detect::RuleInfo& rule = detect::rule_info(f.rule);
    json r = {{"ruleId", rule.id},
              {"ruleIndex", static_cast<int>(f.rule)},
              {"level", sarif_level(f.severity)},
              {"message", {{"text", valid_utf8(message(f))}}}};
    json properties = {{"confidence", detect::confidence_name(f.confidence)}, {"goroutines", json::array()}};
    if (auto where = sarif_location(f)) {
      r["locations"] = json::array({std::move(*where)});
    } else {
      json anchor = {{"physicalLocation", {{"artifactLocation", *artifact(o_.unlocated_uri)}}}};
      if (f.location && !f.location->function.empty())
        anchor["logicalLocations"] = logical(f.location->function);
      r["locations"] = json::array({std::move(anchor)});
      properties["unlocated"] = true;
    }

    json related = json::array();
    json flows = json::array();
    std::set<uint64_t> seen;
    for (const FindingGoroutine& g : f.goroutines) {
      properties["goroutines"].push_back(g.goid);
      if (!seen.insert(g.goid).second) continue;
      if (g.site)
        if (auto loc = location(*g.site, goroutine_text(g) + " blocks here");
            loc && loc->contains("physicalLocation")) {
          (*loc)["id"] = related.size();
          related.push_back(std::move(*loc));
        }
      if (auto flow = thread_flow(g)) flows.push_back(std::move(*flow));
    }
    if (!related.empty()) r["relatedLocations"] = std::move(related);
    if (!flows.empty()) {
      std::string what = f.cycle.empty() ? "the goroutines involved" : "the wait-for cycle:";
      if (!f.cycle.empty()) {
        for (const detect::WaitEdge& e : f.cycle) what += " goroutine " + std::to_string(e.from) + " →";
        what += " goroutine " + std::to_string(f.cycle.front().from);
      }
      r["codeFlows"] = json::array({{{"message", {{"text", what}}}, {"threadFlows", std::move(flows)}}});
    }
    const std::string& print = f.fingerprint.empty() ? f.key : f.fingerprint;
    if (!print.empty()) r["partialFingerprints"] = {{kFingerprint, valid_utf8(print)}};
    if (!f.confidence_reason.empty()) properties["confidence_reason"] = valid_utf8(f.confidence_reason);
    if (!f.metrics.empty()) {
      json metrics = json::object();
      for (const auto& [name, value] : f.metrics) metrics[valid_utf8(name)] = value;
      properties["metrics"] = std::move(metrics);
    }
    r["properties"] = std::move(properties);
    return r;
  }

  const SarifOptions& o_;
  std::string root_;  // source_root without trailing '/'
};

}  // namespace

// ---- pieces of a finding

std::vector<const Finding*> by_severity(std::span<const Finding> findings) {
  std::vector<const Finding*> sorted;
  sorted.reserve(findings.size());
  for (const Finding& f : findings) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Finding* a, const Finding* b) { return a->severity > b->severity; });
  return sorted;
}

const FindingObject* finding_object(const Finding& f, uint64_t address) {
  for (const FindingObject& o : f.objects)
    if (o.address == address) return &o;
  return nullptr;
}

std::string object_label(const Finding& f, uint64_t address) {
  const FindingObject* o = finding_object(f, address);
  if (!o) return address_text(address);
  if (!o->name.empty()) return o->name;
  return EventFormatter::object_text(address, o->kind);
}

std::optional<Location> primary_location(const Finding& f) {
  if (f.location && (f.location->known() || !f.location->file.empty())) return f.location;
  for (const FindingGoroutine& g : f.goroutines)
    if (g.site && g.site->known()) return g.site;
  for (const FindingGoroutine& g : f.goroutines)
    for (const Location& l : g.stack)
      if (l.known() && !state::is_runtime_function(l.function)) return l;
  return std::nullopt;
}

std::string blocked_text(const FindingGoroutine& g) {
  if (g.blocked_ns <= 0) return {};
  return (g.since_exact ? "" : "at least ") + duration_text(g.blocked_ns);
}

std::string metric_label(const std::string& name) {
  return is_ns_metric(name) ? name.substr(0, name.size() - kNs.size()) : name;
}

std::string metric_value_text(const std::string& name, double value) {
  if (is_ns_metric(name) && std::isfinite(value)) return duration_text(static_cast<int64_t>(value));
  char buf[40];
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", value);
  else
    std::snprintf(buf, sizeof buf, "%.3g", value);
  return buf;
}

void write_findings_text(std::ostream& out, const std::vector<Finding>& findings,
                         const TextOptions& options) {
  TextWriter w(out, options);
  for (const Finding* f : by_severity(findings)) {
    w.finding(*f);
    out << '\n';
  }
  w.summary(findings);
}

json findings_json(const std::vector<Finding>& findings) {
  json list = json::array();
  json counts = {{"error", 0}, {"warning", 0}, {"info", 0}};
  for (const Finding* f : by_severity(findings)) {
    list.push_back(finding_json(*f));
    counts[detect::severity_name(f->severity)] = counts[detect::severity_name(f->severity)].get<int>() + 1;
  }
  return {{"findings", std::move(list)}, {"counts", std::move(counts)}};
}

json findings_sarif(const std::vector<Finding>& findings, const SarifOptions& options) {
  return {{"$schema", kSarifSchema},
          {"version", "2.1.0"},
          {"runs", json::array({SarifWriter(options).run(findings)})}};
}

// ---- findings files and the console

FindingsFormat findings_format_for_path(const std::string& path) {
  switch (file_kind(path)) {
    case FileKind::kSarif:
      return FindingsFormat::kSarif;
    case FileKind::kJson:
    case FileKind::kFindingsJson:
      return FindingsFormat::kJson;
    default:
      return FindingsFormat::kText;
  }
}

Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings,
                                   FindingsFormat format, const std::string& tool_version) {
  std::string text;
  if (format == FindingsFormat::kSarif) {
    SarifOptions so;
    so.tool_version = tool_version;
    text = findings_sarif(findings, so).dump(2) + "\n";
  } else if (format == FindingsFormat::kJson) {
    text = findings_json(findings).dump(2) + "\n";
  } else {
    std::ostringstream os;
    write_findings_text(os, findings, {});
    text = os.str();
  }
  return write_user_file(path, text);
}

void print_findings(FILE* out, const std::vector<detect::Finding>& findings, bool color) {
  std::ostringstream os;
  TextOptions to;
  to.color = color;
  write_findings_text(os, findings, to);
  const std::string text = os.str();
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

}  // namespace goscope::output
