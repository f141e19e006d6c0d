#include "output/event_format.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>

#include "model/snapshot.h"
#include "output/display.h"

namespace goscope::output {

using model::Event;
using model::EventKind;
using model::ObjectKind;

namespace {

constexpr size_t kGoroutineWidth = 7;  // "g123456"
constexpr size_t kKindWidth = 12;      // "mutex-unlock"
constexpr size_t kDetailsWidth = 40;
// Text shows how long an operation took from this much on: below it, it did not block.
constexpr int64_t kShowWaitFromNs = 10'000;

const char* color_of(EventCategory c) {
  switch (c) {
    case EventCategory::kScheduling:
      return "\033[36m";  // cyan
    case EventCategory::kChannel:
      return "\033[32m";  // green
    case EventCategory::kSync:
      return "\033[33m";  // yellow
    case EventCategory::kGc:
      return "\033[35m";  // magenta
  }
  return "";
}
constexpr const char* kColorReset = "\033[0m";

// For a stream without stacks (StreamInfo::stacks unset): every stack id is unknown.
const model::StackTable kNoStacks;

// Characters, not bytes: details hold "→" and "µs".
size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Appends `field` and pads it to `width`, one space at least after it.
void append_column(std::string& out, std::string_view field, size_t width) {
  out += field;
  out.append(field.size() < width ? width - field.size() : 1, ' ');
}

std::string goroutine_text(uint64_t goid) {
  return goid ? "g" + std::to_string(goid) : "-";
}

// The goroutine a line shows: the event's goid (the one acting, or for a status change
// the one changed), except for a creation, which is the parent's doing (goid is the child).
uint64_t acting_goroutine(const Event& e) {
  return e.kind == EventKind::kGoCreate ? e.other_goid : e.goid;
}

std::optional<int64_t> wait_ns(const Event& e) {
  if (e.begin_ns <= 0) return std::nullopt;
  return std::max<int64_t>(0, e.time_ns - e.begin_ns);
}

void append_wait(std::string& out, const Event& e, const char* what) {
  if (auto w = wait_ns(e); w && *w >= kShowWaitFromNs) {
    out += ' ';
    out += what;
    out += ' ';
    out += duration_text(*w);
  }
}

const char* role_name(uint16_t flags) {
  if (flags & model::kReaderRole) return "read";
  if (flags & model::kWriterRole) return "write";
  return nullptr;
}

// "site", "func" (when the stack has a site) and "stack", serialized once per stack.
std::string stack_fields(const state::SymbolizedStack& s) {
  std::string out;
  if (const state::CodeFrame* site = s.site_frame())
    out = "\"site\":" + json_quote(file_line(*site)) + ",\"func\":" + json_quote(site->function) + ",";
  out += "\"stack\":[";
  for (size_t i = 0; i < s.frames.size(); i++) {
    const state::CodeFrame& f = s.frames[i];
    if (i) out += ',';
    if (f.known())
      out += "{\"func\":" + json_quote(f.function) + ",\"file\":" + json_quote(f.file) +
             ",\"line\":" + std::to_string(f.line) + "}";
    else
      out += "{\"func\":\"?\",\"file\":\"\",\"line\":0,\"pc\":\"" + address_text(f.pc) + "\"}";
  }
  return out + "]";
}

// Writes one JSON object as text. Keys are constants of this file; string values are
// ASCII made here (addresses, kind names) or already quoted (json_quote()).
class JsonLine {
 public:
  void number(const char* key, int64_t v) { raw(key, std::to_string(v)); }
  void number(const char* key, uint64_t v) { raw(key, std::to_string(v)); }
  void number(const char* key, uint32_t v) { raw(key, std::to_string(v)); }
  void number(const char* key, double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9f", v);
    raw(key, buf);
  }
  void boolean(const char* key, bool v) { raw(key, v ? "true" : "false"); }
  void string(const char* key, std::string_view ascii) {
    open(key);
    out_ += '"';
    out_ += ascii;
    out_ += '"';
  }
  void raw(const char* key, std::string_view json) {
    open(key);
    out_ += json;
  }
  // Fields already serialized ("a":1,"b":2), possibly none.
  void raw_fields(std::string_view fields) {
    if (fields.empty()) return;
    out_ += out_.empty() ? '{' : ',';
    out_ += fields;
  }
  std::string finish() {
    if (out_.empty()) out_ += '{';
    out_ += '}';
    return std::move(out_);
  }

 private:
  void open(const char* key) {
    out_ += out_.empty() ? "{\"" : ",\"";
    out_ += key;
    out_ += "\":";
  }
  std::string out_;
};

}  // namespace

EventCategory category_of(EventKind kind) {
  switch (kind) {
    case EventKind::kGoCreate:
    case EventKind::kGoExit:
    case EventKind::kPark:
    case EventKind::kReady:
    case EventKind::kStatus:
      return EventCategory::kScheduling;
    case EventKind::kChanMake:
    case EventKind::kChanSend:
    case EventKind::kChanRecv:
    case EventKind::kChanClose:
    case EventKind::kSelect:
      return EventCategory::kChannel;
    case EventKind::kStopTheWorld:
    case EventKind::kStartTheWorld:
      return EventCategory::kGc;
    default:
      return EventCategory::kSync;
  }
}

const char* category_name(EventCategory c) {
  switch (c) {
    case EventCategory::kScheduling:
      return "sched";
    case EventCategory::kChannel:
      return "chan";
    case EventCategory::kSync:
      return "sync";
    case EventCategory::kGc:
      return "gc";
  }
  return "?";
}

EventFormatter::EventFormatter(const sym::GoBinary& binary, const model::StreamInfo& info,
                               FormatOptions options)
    : EventFormatter(
          std::make_shared<state::StackSymbolizer>(binary, info.stacks ? *info.stacks : kNoStacks), info,
          options) {}

EventFormatter::EventFormatter(std::shared_ptr<const state::StackSymbolizer> symbols,
                               const model::StreamInfo& info, FormatOptions options)
    : symbols_(std::move(symbols)), info_(info), options_(options) {
  no_stack_.json_fields = "\"stack\":[]";
}

std::string EventFormatter::object_text(uint64_t address, ObjectKind kind) {
  std::string s = model::object_kind_name(kind);
  if (!s.empty()) s += ' ';
  return s + address_text(address);
}

std::string EventFormatter::reason_text(uint32_t wait_reason) const {
  const std::string_view name = info_.wait_reason_name(wait_reason);
  if (!name.empty()) return std::string(name);
  return "wait reason " + std::to_string(wait_reason);
}

const EventFormatter::RenderedStack& EventFormatter::rendered(model::StackId stack) const {
  if (stack == 0 || symbols_->stacks().get(stack).empty()) return no_stack_;
  if (rendered_.size() <= stack) rendered_.resize(stack + 1);
  auto& slot = rendered_[stack];
  if (slot) return *slot;
  slot = std::make_unique<RenderedStack>();
  const state::SymbolizedStack& s = symbols_->stack(stack);
  slot->json_fields = stack_fields(s);
  // Nothing outside the runtime: the caller of the probed function says most (which
  // runtime goroutine parked, say); what the probed function did, the kind tells.
  const state::CodeFrame* shown = s.site_frame();
  if (!shown && !s.frames.empty()) shown = &s.frames[s.frames.size() > 1 ? 1 : 0];
  if (shown) {
    if (options_.addresses) slot->site_text = address_text(shown->pc) + " ";
    slot->site_text += frame_text(*shown);
  }
  return *slot;
}

std::string EventFormatter::site_text(model::StackId stack) const {
  return rendered(stack).site_text;
}

std::string EventFormatter::text_site(const Event& e) const {
  const RenderedStack& r = rendered(e.stack);
  if (!r.site_text.empty() || e.kind != EventKind::kGoCreate || !e.pc) return r.site_text;
  // A creation recorded without a stack still knows its go statement.
  const auto frames = symbols_->frames_at(e.pc, true);
  return (options_.addresses ? address_text(e.pc) + " " : "") + frame_text(frames.front());
}

std::string EventFormatter::details(const Event& e) const {
  std::string d;
  switch (e.kind) {
    case EventKind::kGoCreate:
      d = "→ " + goroutine_text(e.goid);
      if (e.start_pc) {
        d += "  ";
        const std::string_view fn = symbols_->function_at(e.start_pc);
        d += fn.empty() ? address_text(e.start_pc) : std::string(fn);
      }
      break;
    case EventKind::kGoExit:
      break;
    case EventKind::kPark: {
      d = reason_text(e.wait_reason);
      if (!e.objects.empty()) {
        d += " on " + object_text(e.objects.front().address, e.objects.front().kind);
        if (e.objects.size() > 1 || (e.flags & model::kMoreObjects))
          d += " +" + std::to_string(e.objects.size() - 1) + (e.flags & model::kMoreObjects ? "+" : "") +
               " more";
      } else if (e.object) {
        d += " on " + object_text(e.object, e.object_kind);
      }
      break;
    }
    case EventKind::kReady:
      d = "→ " + goroutine_text(e.other_goid);
      break;
    case EventKind::kStatus: {
      const auto from = static_cast<uint32_t>(static_cast<uint64_t>(e.value) >> 32) & ~model::kGScanBit;
      const auto to = static_cast<uint32_t>(e.value) & ~model::kGScanBit;
      d = std::string(model::status_name(from)) + " → " + model::status_name(to);
      if (e.other_goid && e.other_goid != e.goid) d += " by " + goroutine_text(e.other_goid);
      break;
    }
    case EventKind::kChanMake:
      d = object_text(e.object, ObjectKind::kChannel) + " cap " + std::to_string(e.value);
      if (e.value2 > 0) d += " elem " + std::to_string(e.value2) + "B";
      break;
    case EventKind::kChanSend:
      d = object_text(e.object, ObjectKind::kChannel);
      if (!(e.flags & model::kOk)) d += " not sent";
      append_wait(d, e, "waited");
      break;
    case EventKind::kChanRecv:
      d = object_text(e.object, ObjectKind::kChannel);
      if (!(e.flags & model::kOk))
        d += " nothing received";
      else if (!(e.flags & model::kReceived))
        d += " closed";
      append_wait(d, e, "waited");
      break;
    case EventKind::kChanClose:
      d = object_text(e.object, ObjectKind::kChannel);
      break;
    case EventKind::kSelect: {
      d = std::to_string(e.objects.size()) + (e.flags & model::kMoreObjects ? "+" : "") + " cases → ";
      if (e.value < 0) {
        d += "default";
      } else if (static_cast<size_t>(e.value) < e.objects.size()) {
        const auto& c = e.objects[e.value];
        d += (c.flags & model::kRecvCase) ? "recv " : "send ";
        d += object_text(c.address, ObjectKind::kChannel);
        if ((c.flags & model::kRecvCase) && !(e.flags & model::kReceived)) d += " closed";
      } else {
        d += "case " + std::to_string(e.value);
      }
      append_wait(d, e, "waited");
      break;
    }
    case EventKind::kSyncBlock:
    case EventKind::kSyncRelease:
    case EventKind::kRLock:
    case EventKind::kRUnlock:
    case EventKind::kWaitGroupWait:
    case EventKind::kCondWait:
      d = object_text(e.object, e.object_kind);
      if (const char* role = role_name(e.flags)) d += std::string(" (") + role + ")";
      break;
    case EventKind::kMutexLock:
      d = object_text(e.object, e.object_kind);
      if (e.flags & model::kContended) {
        d += " contended";
        append_wait(d, e, "waited");
      }
      break;
    case EventKind::kMutexUnlock:
      d = object_text(e.object, e.object_kind);
      if (e.flags & model::kContended) d += " with waiters";
      break;
    case EventKind::kCondSignal:
      d = std::string(e.value ? "signal " : "broadcast ") + object_text(e.object, e.object_kind);
      break;
    case EventKind::kStopTheWorld:
      if (e.value >= 0) d = "reason code " + std::to_string(e.value);
      break;
    case EventKind::kCpuSample:
      d = "cpu " + std::to_string(e.value2) + (e.flags & model::kInKernel ? " in kernel" : "");
      break;
    case EventKind::kStartTheWorld:
    case EventKind::kCount_:
      break;
  }
  if (e.flags & model::kDataFault) d += " [unreadable field]";
  return d;
}

void EventFormatter::add_stack_lines(std::string& out, model::StackId stack) const {
  const state::SymbolizedStack& s = symbols_->stack(stack);
  size_t first = 0;
  if (!options_.show_runtime && s.site >= 0) first = static_cast<size_t>(s.site);
  int shown = 0;
  for (size_t i = first; i < s.frames.size() && shown < options_.stack_frames; i++) {
    const auto& f = s.frames[i];
    if (!options_.show_runtime && f.known() && state::is_runtime_function(f.function)) continue;
    out += "\n            ";
    if (options_.addresses) out += address_text(f.pc) + " ";
    out += frame_text(f);
    shown++;
  }
}

std::string EventFormatter::text(const Event& e, int64_t t0_ns) const {
  std::string out;
  out.reserve(160);
  char time[32];
  std::snprintf(time, sizeof time, "%10.6f  ", static_cast<double>(e.time_ns - t0_ns) / 1e9);
  out += time;
  append_column(out, goroutine_text(acting_goroutine(e)), kGoroutineWidth);
  const char* kind = model::event_kind_name(e.kind);
  if (options_.color) out += color_of(category_of(e.kind));
  out += kind;
  if (options_.color) out += kColorReset;
  const size_t kind_size = std::string_view(kind).size();
  out.append(kind_size < kKindWidth ? kKindWidth - kind_size : 1, ' ');
  const std::string d = details(e);
  out += d;
  const std::string site = text_site(e);
  if (!site.empty()) {
    const size_t width = display_width(d);
    out.append(width < kDetailsWidth ? kDetailsWidth - width : 1, ' ');
    out += site;
  } else {
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  if (options_.stack_frames > 0 && e.stack) add_stack_lines(out, e.stack);
  return out;
}

std::string EventFormatter::json_text(const Event& e, int64_t t0_ns) const {
  JsonLine j;
  j.number("t", static_cast<double>(e.time_ns - t0_ns) / 1e9);
  j.number("time_ns", e.time_ns);
  j.string("kind", model::event_kind_name(e.kind));
  j.number("goid", e.goid);
  j.number("tid", e.tid);
  j.raw_fields(rendered(e.stack).json_fields);
  if (e.flags & (model::kSystemStack | model::kStackCut | model::kDataFault | model::kMoreObjects)) {
    std::string flags = "[";
    auto flag = [&](uint16_t bit, const char* name) {
      if (!(e.flags & bit)) return;
      if (flags.size() > 1) flags += ',';
      flags += '"';
      flags += name;
      flags += '"';
    };
    flag(model::kSystemStack, "system_stack");
    flag(model::kStackCut, "stack_cut");
    flag(model::kDataFault, "data_fault");
    flag(model::kMoreObjects, "more_objects");
    j.raw("flags", flags + "]");
  }

  auto put_wait = [&] {
    if (auto w = wait_ns(e)) j.number("wait_ns", *w);
  };
  switch (e.kind) {
    case EventKind::kGoCreate:
      j.number("parent", e.other_goid);
      if (e.pc) j.raw_fields(creation_fields(e.pc));
      if (e.start_pc) j.raw_fields(start_fields(e.start_pc));
      break;
    case EventKind::kReady:
      j.number("wakee", e.other_goid);
      break;
    case EventKind::kPark: {
      j.raw("reason", quoted_reason(e.wait_reason));
      j.number("reason_code", e.wait_reason);
      std::vector<model::ObjectRef> objects = e.objects;
      if (objects.empty() && e.object) objects.push_back({e.object, e.object_kind, 0});
      std::string list = "[";
      for (const auto& o : objects) {
        if (list.size() > 1) list += ',';
        list += "{\"addr\":\"" + address_text(o.address) + "\",\"kind\":\"" +
                model::object_kind_name(o.kind) +
                "\",\"in_select\":" + ((o.flags & model::kInSelect) ? "true" : "false") + "}";
      }
      j.raw("objects", list + "]");
      if (!objects.empty()) {
        j.string("object", address_text(objects.front().address));
        j.string("object_kind", model::object_kind_name(objects.front().kind));
      }
      break;
    }
    case EventKind::kStatus:
      j.string("from", model::status_name(static_cast<uint32_t>(static_cast<uint64_t>(e.value) >> 32) &
                                          ~model::kGScanBit));
      j.string("to", model::status_name(static_cast<uint32_t>(e.value) & ~model::kGScanBit));
      j.number("by", e.other_goid);
      break;
    case EventKind::kChanMake:
      j.string("chan", address_text(e.object));
      j.number("cap", e.value);
      j.number("elem_size", e.value2);
      break;
    case EventKind::kChanSend:
    case EventKind::kChanRecv:
      j.string("chan", address_text(e.object));
      j.boolean("ok", e.flags & model::kOk);
      j.boolean("blocking", e.flags & model::kBlocking);
      if (e.kind == EventKind::kChanRecv) j.boolean("received", e.flags & model::kReceived);
      put_wait();
      break;
    case EventKind::kChanClose:
      j.string("chan", address_text(e.object));
      break;
    case EventKind::kSelect: {
      std::string cases = "[";
      for (const auto& c : e.objects) {
        if (cases.size() > 1) cases += ',';
        cases += "{\"chan\":\"" + address_text(c.address) + "\",\"dir\":\"" +
                 ((c.flags & model::kRecvCase) ? "recv" : "send") + "\"}";
      }
      j.raw("cases", cases + "]");
      j.number("chosen", e.value);
      j.boolean("received", e.flags & model::kReceived);
      j.boolean("blocking", e.flags & model::kBlocking);
      put_wait();
      break;
    }
    case EventKind::kSyncBlock:
    case EventKind::kSyncRelease:
    case EventKind::kMutexLock:
    case EventKind::kMutexUnlock:
    case EventKind::kRLock:
    case EventKind::kRUnlock:
    case EventKind::kWaitGroupWait:
    case EventKind::kCondWait:
    case EventKind::kCondSignal:
      j.string("object", address_text(e.object));
      j.string("object_kind", model::object_kind_name(e.object_kind));
      if (const char* role = role_name(e.flags)) j.string("role", role);
      if (e.kind == EventKind::kMutexLock || e.kind == EventKind::kMutexUnlock)
        j.boolean("contended", e.flags & model::kContended);
      if (e.kind == EventKind::kCondSignal) j.boolean("broadcast", e.value == 0);
      put_wait();
      break;
    case EventKind::kStopTheWorld:
      j.number("reason_code", e.value);
      break;
    case EventKind::kCpuSample:
      j.number("cpu", e.value2);
      j.number("period_ns", e.value);
      j.boolean("in_kernel", e.flags & model::kInKernel);
      break;
    case EventKind::kGoExit:
    case EventKind::kStartTheWorld:
    case EventKind::kCount_:
      break;
  }
  return j.finish();
}

nlohmann::json EventFormatter::json(const Event& e, int64_t t0_ns) const {
  return nlohmann::json::parse(json_text(e, t0_ns));
}

const std::string& EventFormatter::creation_fields(uint64_t pc) const {
  auto [it, inserted] = creation_fields_.try_emplace(pc);
  if (inserted) {
    const state::CodeFrame& go = symbols_->frames_at(pc, true).front();
    if (go.known())
      it->second =
          "\"created_at\":" + json_quote(file_line(go)) + ",\"created_in\":" + json_quote(go.function);
  }
  return it->second;
}

const std::string& EventFormatter::start_fields(uint64_t start_pc) const {
  auto [it, inserted] = start_fields_.try_emplace(start_pc);
  if (inserted) {
    const std::string_view fn = symbols_->function_at(start_pc);
    if (!fn.empty()) it->second = "\"start_func\":" + json_quote(fn);
  }
  return it->second;
}

const std::string& EventFormatter::quoted_reason(uint32_t wait_reason) const {
  auto [it, inserted] = quoted_reasons_.try_emplace(wait_reason);
  if (inserted) {
    const std::string_view name = info_.wait_reason_name(wait_reason);
    it->second = name.empty() ? "null" : json_quote(name);
  }
  return it->second;
}

}  // namespace goscope::output
