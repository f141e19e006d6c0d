#include "loader/tracer.h"

#include <signal.h>
#include <time.h>

#include "common/clock.h"
#include "loader/snapshot_reader.h"

namespace goscope::loader {

namespace {}  // namespace

Expected<std::unique_ptr<Tracer>> Tracer::start(pid_t pid, const std::string& exe_path, bool launched,
                                                const TraceOptions& options) {
  const int64_t t0 = monotonic_ns();
  std::unique_ptr<Tracer> t(new Tracer());
  GS_TRY(t->binary_, sym::GoBinary::open_cached(exe_path));
  GS_TRY(t->plan_, make_plan(*t->binary_, options.plan, options.stack_depth));

  SessionOptions sopts;
  sopts.offsets = t->plan_.offsets;
  sopts.ringbuf_bytes = options.ringbuf_bytes;
  GS_TRY(t->session_, BpfSession::load(sopts));
  for (uint32_t slot = 0; slot < t->plan_.configs.size(); slot++) {
    GS_CHECK(t->session_->set_site_config(slot, t->plan_.configs[slot]));
  }
  t->decoder_ = std::make_unique<EventDecoder>(*t->binary_, t->plan_, t->stacks_);
  Tracer* self = t.get();
  GS_CHECK(t->session_->open_ring([self](std::span<const uint8_t> rec) {
    if (self->sink_) self->decoder_->decode(rec, *self->sink_);
  }));
  std::vector<BpfSession::HookSite> sites;
  for (const PlannedSite& s : t->plan_.sites) sites.push_back({s.file_offset, s.cookie});
  if (auto ok = t->session_->attach_hooks(exe_path, sites, pid); !ok) {
    if (!launched && kill(pid, 0) != 0)
      return make_error("process " + std::to_string(pid) + " exited while goscope attached");
    return ok.take_error();
  }
  t->attach_ns_ = monotonic_ns() - t0;

  if (!launched) {
    auto image = sym::ProcessImage::open(pid);
    if (image) {
      t->proc_bias_ = image->load_bias();
      if (options.snapshot) {
        ProcessMemory memory(pid);
        auto snap = read_snapshot(*t->binary_, *image, memory);
        if (snap)
          t->snapshot_ = std::move(*snap);
        else
          t->snapshot_error_ = snap.error().message;
      }
    } else {
      t->snapshot_error_ = image.error().message;
    }
  }
  return t;
}

model::StreamInfo Tracer::stream_info() const {
  model::StreamInfo info;
  info.wait_reasons = binary_->offsets().wait_reasons;
  info.stacks = &stacks_;
  return info;
}

uint64_t Tracer::load_bias() const {
  if (proc_bias_) return *proc_bias_;
  return decoder_ ? decoder_->load_bias() : 0;
}

Expected<int> Tracer::poll(int timeout_ms, const model::EventSink& sink) {
  sink_ = &sink;
  auto n = session_->poll(timeout_ms);
  sink_ = nullptr;
  return n;
}

Expected<int> Tracer::drain(const model::EventSink& sink) {
  sink_ = &sink;
  auto n = session_->drain();
  sink_ = nullptr;
  return n;
}

TraceCounters Tracer::counters() const {
  TraceCounters c;
  const auto bpf = session_->counters();
  const DecoderStats& d = decoder_->stats();
  c.records = d.records;
  c.events = d.events;
  c.lost_ringbuf = bpf[GS_CNT_DROP_RINGBUF];
  c.goid_faults = bpf[GS_CNT_GOID_FAULT];
  c.data_faults = bpf[GS_CNT_DATA_FAULT];
  c.stack_faults = bpf[GS_CNT_STACK_FAULT];
  c.bad_slots = bpf[GS_CNT_BAD_SLOT];
  c.malformed = d.malformed;
  c.unpaired = d.unpaired;
  return c;
}

}  // namespace goscope::loader
