#include "tracefile/findings_codec.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace goscope::tracefile {

namespace {

using json = nlohmann::json;

// ---- encoding

// JSON strings must be UTF-8; a name that is not is kept as its bytes in hex.
bool dumps_as_utf8(std::string_view s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

json text(std::string_view s) {
  if (dumps_as_utf8(s)) return json(s);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(s.size() * 2);
  for (unsigned char c : s) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return json{{"hex", hex}};
}

// JSON numbers have no NaN or infinity; every finite double dumps with enough digits to read back exactly.
json number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

json location_json(const detect::Location& l) {
  return {{"function", text(l.function)},
          {"file", text(l.file)},
          {"line", l.line},
          {"pc", l.pc},
          {"inlined", l.inlined}};
}

json locations_json(const std::vector<detect::Location>& ls) {
  json a = json::array();
  for (const auto& l : ls) a.push_back(location_json(l));
  return a;
}

}  // namespace

json finding_to_json(const detect::Finding& f) {
  json goroutines = json::array();
  for (const auto& g : f.goroutines) {
    json j = {{"goid", g.goid},
              {"state", text(g.state)},
              {"wait_reason", text(g.wait_reason)},
              {"waits_on", g.waits_on},
              {"holds", g.holds},
              {"blocked_ns", g.blocked_ns},
              {"since_exact", g.since_exact},
              {"stack", locations_json(g.stack)},
              {"parent_goid", g.parent_goid}};
    if (g.site) j["site"] = location_json(*g.site);
    if (g.created_at) j["created_at"] = location_json(*g.created_at);
    goroutines.push_back(std::move(j));
  }
  json objects = json::array();
  for (const auto& o : f.objects) {
    json j = {{"address", o.address}, {"kind", static_cast<unsigned>(o.kind)},
              {"name", text(o.name)}, {"detail", text(o.detail)},
              {"held_by", o.held_by}, {"holders_inferred", o.holders_inferred}};
    if (o.made_at) j["made_at"] = location_json(*o.made_at);
    objects.push_back(std::move(j));
  }
  json cycle = json::array();
  for (const auto& e : f.cycle)
    cycle.push_back({{"from", e.from}, {"object", e.object}, {"to", e.to}, {"relation", text(e.relation)}});
  // Pairs, not an object: a metric's name is text like any other and may need the hex form.
  json metrics = json::array();
  for (const auto& [name, value] : f.metrics) metrics.push_back(json::array({text(name), number(value)}));

  json j = {{"rule", detect::rule_info(f.rule).id},
            {"severity", detect::severity_name(f.severity)},
            {"confidence", detect::confidence_name(f.confidence)},
            {"confidence_reason", text(f.confidence_reason)},
            {"title", text(f.title)},
            {"message", text(f.message)},
            {"suggestion", text(f.suggestion)},
            {"goroutines", std::move(goroutines)},
            {"objects", std::move(objects)},
            {"cycle", std::move(cycle)},
            {"detected_ns", f.detected_ns},
            {"since_ns", f.since_ns},
            {"metrics", std::move(metrics)},
            {"key", text(f.key)},
            {"fingerprint", text(f.fingerprint)}};
  if (f.location) j["location"] = location_json(*f.location);
  return j;
}

std::string finding_to_text(const detect::Finding& finding) {
  return finding_to_json(finding).dump();
}

namespace {

// ---- decoding: fields absent are left at their defaults (a later goscope may add
// fields; an older one reads what it knows); a field of the wrong type is an error.

class Fields {
 public:
  Fields(const json& object, std::string where, std::string& error)
      : object_(object), where_(std::move(where)), error_(error) {
    if (!object_.is_object()) fail("", "an object");
  }

  bool has(const char* key) const { return object_.is_object() && object_.contains(key); }

  void get(const char* key, std::string& out) const {
    if (const json* v = field(key)) out = decode_text(*v, key);
  }
  void get(const char* key, bool& out) const {
    const json* v = field(key);
    if (!v) return;
    if (v->is_boolean())
      out = v->get<bool>();
    else
      fail(key, "true or false");
  }
  void get(const char* key, uint64_t& out) const {
    if (const json* v = field(key)) out = decode_u64(*v, key);
  }
  void get(const char* key, int64_t& out) const {
    if (const json* v = field(key)) out = decode_i64(*v, key);
  }
  void get(const char* key, int& out) const {
    const json* v = field(key);
    if (!v) return;
    const int64_t x = decode_i64(*v, key);
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
      fail(key, "a 32-bit integer");
    else
      out = static_cast<int>(x);
  }
  void get(const char* key, std::vector<uint64_t>& out) const {
    const json* v = field(key);
    if (!v) return;
    if (!v->is_array()) return fail(key, "an array of numbers");
    out.clear();
    for (const json& x : *v) out.push_back(decode_u64(x, key));
  }
  // An array of objects, each decoded by `one(Fields)`.
  template <typename T, typename Decode>
  void get_each(const char* key, std::vector<T>& out, Decode one) const {
    const json* v = field(key);
    if (!v) return;
    if (!v->is_array()) return fail(key, "an array");
    out.clear();
    for (size_t i = 0; i < v->size() && error_.empty(); i++)
      out.push_back(one(Fields((*v)[i], where_ + key + "[" + std::to_string(i) + "].", error_)));
  }
  const json* field(const char* key) const {
    if (!error_.empty() || !object_.is_object()) return nullptr;
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  Fields nested(const char* key) const { return Fields(object_.at(key), where_ + key + ".", error_); }

  std::string decode_text(const json& v, const char* key) const {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("hex") && v["hex"].is_string()) {
      const std::string& hex = v["hex"].get_ref<const std::string&>();
      std::string bytes;
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) break;
        bytes += static_cast<char>(hi << 4 | lo);
      }
      if (bytes.size() * 2 == hex.size()) return bytes;
    }
    fail(key, "a string");
    return {};
  }
  double decode_number(const json& v, const char* key) const {
    if (v.is_number()) return v.get<double>();
    if (v == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (v == "inf") return std::numeric_limits<double>::infinity();
    if (v == "-inf") return -std::numeric_limits<double>::infinity();
    fail(key, "a number");
    return 0;
  }
  void fail(const char* key, const char* expected) const {
    if (error_.empty()) error_ = "finding field " + where_ + key + " is not " + expected;
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  uint64_t decode_u64(const json& v, const char* key) const {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    fail(key, "an unsigned integer");
    return 0;
  }
  int64_t decode_i64(const json& v, const char* key) const {
    if (v.is_number_unsigned() && v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(v.get<uint64_t>());
    if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
    fail(key, "an integer");
    return 0;
  }

  const json& object_;
  std::string where_;
  std::string& error_;
};

detect::Location location_from(const Fields& f) {
  detect::Location l;
  f.get("function", l.function);
  f.get("file", l.file);
  f.get("line", l.line);
  f.get("pc", l.pc);
  f.get("inlined", l.inlined);
  return l;
}

void optional_location(const Fields& f, const char* key, std::optional<detect::Location>& out) {
  if (f.field(key)) out = location_from(f.nested(key));
}

template <typename Enum>
bool enum_from(std::string_view name, Enum& out, const char* (*name_of)(Enum), int count) {
  for (int i = 0; i < count; i++)
    if (name == name_of(static_cast<Enum>(i))) {
      out = static_cast<Enum>(i);
      return true;
    }
  return false;
}

}  // namespace

Expected<detect::Finding> finding_from_json(const json& j) {
  std::string error;
  detect::Finding f;
  const Fields top(j, "", error);

  std::string name;
  if (top.field("rule")) {
    top.get("rule", name);
    bool known = false;
    for (const auto& r : detect::all_rules())
      if (name == r.id) {
        f.rule = r.rule;
        known = true;
      }
    if (!known) top.fail("rule", "a rule id this goscope knows (GS101...)");
  }
  if (top.field("severity")) {
    top.get("severity", name);
    if (!enum_from(name, f.severity, detect::severity_name, 3))
      top.fail("severity", "info, warning or error");
  }
  if (top.field("confidence")) {
    top.get("confidence", name);
    if (!enum_from(name, f.confidence, detect::confidence_name, 2))
      top.fail("confidence", "likely or certain");
  }
  top.get("confidence_reason", f.confidence_reason);
  top.get("title", f.title);
  top.get("message", f.message);
  top.get("suggestion", f.suggestion);
  top.get_each("goroutines", f.goroutines, [](const Fields& g) {
    detect::FindingGoroutine out;
    g.get("goid", out.goid);
    g.get("state", out.state);
    g.get("wait_reason", out.wait_reason);
    g.get("waits_on", out.waits_on);
    g.get("holds", out.holds);
    g.get("blocked_ns", out.blocked_ns);
    g.get("since_exact", out.since_exact);
    optional_location(g, "site", out.site);
    g.get_each("stack", out.stack, location_from);
    optional_location(g, "created_at", out.created_at);
    g.get("parent_goid", out.parent_goid);
    return out;
  });
  top.get_each("objects", f.objects, [](const Fields& o) {
    detect::FindingObject out;
    o.get("address", out.address);
    uint64_t kind = 0;
    o.get("kind", kind);
    if (kind > static_cast<uint64_t>(model::ObjectKind::kOther))
      o.fail("kind", "an object kind");
    else
      out.kind = static_cast<model::ObjectKind>(kind);
    o.get("name", out.name);
    o.get("detail", out.detail);
    o.get("held_by", out.held_by);
    o.get("holders_inferred", out.holders_inferred);
    optional_location(o, "made_at", out.made_at);
    return out;
  });
  top.get_each("cycle", f.cycle, [](const Fields& e) {
    detect::WaitEdge out;
    e.get("from", out.from);
    e.get("object", out.object);
    e.get("to", out.to);
    e.get("relation", out.relation);
    return out;
  });
  optional_location(top, "location", f.location);
  top.get("detected_ns", f.detected_ns);
  top.get("since_ns", f.since_ns);
  if (const json* metrics = top.field("metrics")) {
    const bool pairs =
        metrics->is_array() && std::all_of(metrics->begin(), metrics->end(),
                                           [](const json& p) { return p.is_array() && p.size() == 2; });
    if (!pairs) top.fail("metrics", "an array of [name, value] pairs");
    for (size_t i = 0; pairs && i < metrics->size(); i++) {
      const json& pair = (*metrics)[i];
      std::string metric = top.decode_text(pair[0], "metrics");
      f.metrics[std::move(metric)] = top.decode_number(pair[1], "metrics");
    }
  }
  top.get("key", f.key);
  top.get("fingerprint", f.fingerprint);
  if (!error.empty()) return make_error(error);
  return f;
}

Expected<detect::Finding> finding_from_text(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("a stored finding is not valid JSON");
  return finding_from_json(j);
}

}  // namespace goscope::tracefile
