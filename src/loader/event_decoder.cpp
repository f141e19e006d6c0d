#include "loader/event_decoder.h"

#include <algorithm>
#include <cstring>

namespace goscope::loader {

using model::Event;
using model::EventKind;
using model::ObjectKind;
using model::ObjectRef;

DecodeContext::DecodeContext(const sym::GoBinary& binary, const Plan& plan, model::StackTable& stacks,
                             DecoderStats& stats)
    : bin_(binary),
      plan_(plan),
      offsets_(binary.offsets().offsets),
      stacks_(stacks),
      stats_(stats),
      pending_(static_cast<size_t>(Hook::kCount_)) {
  has_stw_reason_ = binary.build_info().version.at_least(1, 21);
  wait_reasons_ = binary.offsets().wait_reasons;
}

void DecodeContext::emit(Event&& e) {
  stats_.events++;
  (*sink_)(e);
}

void DecodeContext::pend(uint64_t goid, Pending p) {
  auto [it, inserted] = pending_[static_cast<size_t>(site_->hook)].try_emplace(goid);
  if (!inserted) stats_.unpaired++;  // the previous entry never returned while we watched
  it->second = std::move(p);
}

void DecodeContext::forget(uint64_t goid) {
  // An exited goroutine never returns from what it entered: those halves stay unpaired.
  for (PendingByGoid& m : pending_) stats_.unpaired += m.erase(goid);
  sync_wait.erase(goid);
  inline_unlock.erase(goid);
}

bool DecodeContext::take(uint64_t goid, Pending& out) {
  auto& map = pending_[static_cast<size_t>(site_->hook)];
  auto it = map.find(goid);
  if (it == map.end()) {
    stats_.unpaired++;
    return false;
  }
  out = std::move(it->second);
  map.erase(it);
  return true;
}

const std::vector<std::string>& DecodeContext::functions_of(model::StackId stack) {
  auto [it, inserted] = functions_.try_emplace(stack);
  if (!inserted) return it->second;
  auto pcs = stacks_.get(stack);
  // Return addresses point after the call: look up address - 1 (not for the probe's own pc).
  std::vector<uint64_t> lookup(pcs.begin(), pcs.end());
  for (size_t i = 1; i < lookup.size(); i++) lookup[i] -= 1;
  for (const auto& s : bin_.symbolize_vaddrs(lookup))
    for (const auto& f : s.frames) it->second.emplace_back(f.function);
  return it->second;
}

bool DecodeContext::stack_has(model::StackId stack, std::string_view function) {
  for (const auto& f : functions_of(stack))
    if (f == function) return true;
  return false;
}

model::ObjectRef DecodeContext::sync_object(uint64_t semaphore, model::StackId stack) {
  const auto& fns = functions_of(stack);
  std::vector<std::string_view> views(fns.begin(), fns.end());
  return sym::semaphore_object(semaphore, views, offsets_);
}

EventDecoder::EventDecoder(const sym::GoBinary& binary, const Plan& plan, model::StackTable& stacks)
    : bin_(binary), plan_(plan), stacks_(stacks), ctx_(binary, plan, stacks, stats_) {}

void EventDecoder::decode_sample(std::span<const uint8_t> record, const model::EventSink& sink) {
  gs_cpu_sample s;
  if (record.size() < GS_CPU_SAMPLE_FIXED) {
    stats_.malformed++;
    return;
  }
  std::memset(&s, 0, sizeof s);
  std::memcpy(&s, record.data(), std::min(record.size(), sizeof s));
  const size_t frames = std::min<size_t>((record.size() - GS_CPU_SAMPLE_FIXED) / 8, GS_MAX_SAMPLE_FRAMES);
  if (s.nframes > frames) {
    stats_.malformed++;
    return;
  }
  std::vector<uint64_t> pcs(s.frames, s.frames + s.nframes);
  for (uint64_t& pc : pcs)
    if (pc >= ctx_.bias_) pc -= ctx_.bias_;
  // The kernel's frame-pointer walk does not know where a stack begins: past a goroutine's
  // first function (runtime.goexit) or a thread's (runtime.mstart, runtime.rt0_go) it reads
  // whatever the words above hold. Cut there, and at the first return address outside the
  // program's code. The sampled pc itself may be outside (the vDSO, a cgo library).
  const sym::Pclntab& tab = bin_.pclntab();
  for (size_t i = 0; i < pcs.size(); i++) {
    const auto idx = tab.function_at(i ? pcs[i] - 1 : pcs[i]);
    if (!idx) {
      if (i == 0) continue;
      pcs.resize(i);
      break;
    }
    const std::string_view fn = tab.function_name(*idx);
    if (fn == "runtime.goexit" || fn == "runtime.mstart" || fn == "runtime.rt0_go") {
      pcs.resize(i + 1);
      break;
    }
  }
  // Nothing of the program's code at all (a tick during exec): no stack rather than a wild pc.
  if (pcs.size() == 1 && !tab.function_at(pcs[0])) pcs.clear();
  Event e;
  e.kind = model::EventKind::kCpuSample;
  e.tid = s.hdr.tid;
  e.time_ns = static_cast<int64_t>(s.hdr.ktime_ns);
  e.goid = s.hdr.goid;
  if (s.flags & GS_SAMPLE_KERNEL) e.flags |= model::kInKernel;
  if (s.flags & GS_SAMPLE_SYSTEM_STACK) e.flags |= model::kSystemStack;
  e.value = sample_period_ns_ > 0 ? sample_period_ns_ : static_cast<int64_t>(s.period);
  e.value2 = s.cpu;
  e.stack = stacks_.intern(pcs);
  stats_.events++;
  sink(e);
}

void EventDecoder::decode(std::span<const uint8_t> record, const model::EventSink& sink) {
  stats_.records++;
  if (record.size() >= sizeof(gs_event_header)) {
    uint32_t type = 0;
    std::memcpy(&type, record.data(), sizeof type);
    if (type == GS_EV_CPU_SAMPLE) return decode_sample(record, sink);
  }
  gs_hook_event r;
  if (record.size() < GS_HOOK_EVENT_FIXED) {
    stats_.malformed++;
    return;
  }
  std::memset(&r, 0, sizeof r);
  std::memcpy(&r, record.data(), std::min(record.size(), sizeof r));
  // Words the record really carries: never more than r.words holds, whatever its size says.
  const size_t words =
      std::min<size_t>((record.size() - GS_HOOK_EVENT_FIXED) / 8, GS_MAX_DATA + GS_MAX_FRAMES);
  const uint32_t site_index = GS_COOKIE_SITE(r.cookie);
  if (r.hdr.type != GS_EV_HOOK || site_index >= plan_.sites.size() || r.ndata > GS_MAX_DATA ||
      r.nframes > GS_MAX_FRAMES || size_t(r.ndata) + r.nframes > words) {
    stats_.malformed++;
    return;
  }
  const PlannedSite& site = plan_.sites[site_index];
  const HookDescriptor* hook = hook_descriptor(site.hook);
  if (static_cast<uint16_t>(site.hook) != r.hook || site.site != r.site || !hook || !hook->decode) {
    stats_.malformed++;
    return;
  }
  ctx_.bias_ = r.ip - site.vaddr;
  if (r.flags & GS_REC_DATA_FAULT) stats_.data_faults++;

  std::vector<uint64_t> pcs(r.words + r.ndata, r.words + r.ndata + r.nframes);
  for (uint64_t& pc : pcs) pc -= ctx_.bias_;

  Event e;
  e.tid = r.hdr.tid;
  e.time_ns = static_cast<int64_t>(r.hdr.ktime_ns);
  e.goid = r.hdr.goid;
  if (r.flags & GS_REC_SYSTEM_STACK) e.flags |= model::kSystemStack;
  if (r.flags & GS_REC_STACK_CUT) e.flags |= model::kStackCut;
  if (r.flags & GS_REC_DATA_FAULT) e.flags |= model::kDataFault;
  if (r.flags & GS_REC_MORE_DATA) e.flags |= model::kMoreObjects;
  // The RET half of a paired operation reports the stack of its entry: interning the
  // RET's own stack would only fill the table with stacks no event refers to.
  if (!(site.site == GS_SITE_RET && hook->paired())) e.stack = stacks_.intern(pcs);

  ctx_.record_ = &r;
  ctx_.site_ = &site;
  ctx_.sink_ = &sink;
  hook->decode(ctx_, e);
  ctx_.record_ = nullptr;
  ctx_.site_ = nullptr;
  ctx_.sink_ = nullptr;
}

}  // namespace goscope::loader
