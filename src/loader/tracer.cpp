#include "loader/tracer.h"

#include <signal.h>
#include <time.h>

#include "common/clock.h"
#include "loader/snapshot_reader.h"
#include "symbolizer/probe_sites.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace goscope::loader {

namespace {}  // namespace

Expected<std::unique_ptr<Tracer>> Tracer::start(pid_t pid, const std::string& exe_path, bool launched,
                                                const TraceOptions& options) {
  const int64_t t0 = monotonic_ns();
  std::unique_ptr<Tracer> t(new Tracer());
  t->pid_ = pid;
  GS_TRY(t->binary_, sym::GoBinary::open_cached(exe_path));
  GS_TRY(t->plan_, make_plan(*t->binary_, options.plan, options.stack_depth));
  if (options.counters.size() > GS_PMU_MAX_EVENTS)
    return make_error("at most " + std::to_string(GS_PMU_MAX_EVENTS) + " counters can be counted at once");

  const bool counting = !options.counters.empty();
  SessionOptions sopts;
  sopts.offsets = t->plan_.offsets;
  sopts.ringbuf_bytes = options.ringbuf_bytes;
  sopts.cpu_samples = options.cpu_sample_hz > 0;
  sopts.thread_events = counting;
  sopts.sched_counters = counting && options.goroutine_counters;
  if (sopts.cpu_samples || counting) {
    const sym::GoOffsets& o = t->binary_->offsets().offsets;
    sopts.pmu.tgid = static_cast<uint32_t>(pid);
    sopts.pmu.nevents = static_cast<uint32_t>(options.counters.size());
    sopts.pmu.tls_g_offset = t->binary_->tls_g_offset();
    sopts.pmu.g_gopc = o.g_gopc ? static_cast<uint32_t>(*o.g_gopc) : 0;
    sopts.pmu.g_startpc = o.g_startpc ? static_cast<uint32_t>(*o.g_startpc) : 0;
    sopts.pmu.sample_frames = GS_MAX_SAMPLE_FRAMES;
    // The kernel's BTF is parsed only here (~200 ms on a small VM): the BPF object has
    // no CO-RE relocation, so `trace` without samples never pays for it.
    const KernelTaskOffsets k = kernel_task_offsets();
    sopts.pmu.task_fsbase = k.fsbase;
    sopts.pmu.task_pid = k.pid;
    sopts.pmu.task_tgid = k.tgid;
    if (counting && (!k.pid || !k.tgid))
      return make_error("cannot find task_struct.pid / tgid in the kernel's BTF (/sys/kernel/btf/vmlinux)");
    if (sopts.cpu_samples && !k.fsbase)
      t->sampling_note_ = "CPU samples carry no goroutine: task_struct.thread.fsbase is not in the kernel's BTF";
  }
  if (sopts.cpu_samples) {
    SamplerOptions so;
    so.frequency_hz = options.cpu_sample_hz;
    so.prefer_hardware = options.sample_hardware;
    if (auto sampler = CpuSampler::open(so)) {
      t->sampler_ = std::move(*sampler);
    } else if (options.sampling_optional) {
      t->sampling_note_ = "no CPU profile: " + sampler.error().message;
      sopts.cpu_samples = false;
    } else {
      return sampler.error();
    }
  }
  GS_TRY(t->session_, BpfSession::load(sopts));
  for (uint32_t slot = 0; slot < t->plan_.configs.size(); slot++) {
    GS_CHECK(t->session_->set_site_config(slot, t->plan_.configs[slot]));
  }
  t->decoder_ = std::make_unique<EventDecoder>(*t->binary_, t->plan_, t->stacks_);
  if (t->sampler_) t->decoder_->set_sample_period_ns(t->sampler_->period_ns());
  Tracer* self = t.get();
  GS_CHECK(t->session_->open_ring([self](std::span<const uint8_t> rec) { self->on_record(rec); }));

  if (counting) {
    // Thread creation first, then the threads there are: one created in between is in both.
    t->counter_infos_ = options.counters;
    GS_CHECK(t->session_->attach_thread_events());
    for (pid_t tid : list_threads(pid)) t->add_thread(tid);
    if (t->threads_.empty()) return make_error("process " + std::to_string(pid) + " has no threads left");
    if (options.goroutine_counters) {
      if (auto ok = t->attach_scheduler(exe_path, pid); ok)
        t->goroutine_counters_ = true;
      else
        t->counter_notes_.push_back("goroutines are not counted: " + ok.error().message);
    }
  }
  if (t->sampler_) {
    if (auto ok = t->session_->attach_sampler(t->sampler_->fds()); !ok) {
      if (!options.sampling_optional) return ok.error();
      t->sampling_note_ = "no CPU profile: " + ok.error().message;
      t->sampler_.reset();
    }
  }

  if (options.hooks) {
    std::vector<BpfSession::HookSite> sites;
    for (const PlannedSite& s : t->plan_.sites) sites.push_back({s.file_offset, s.cookie});
    if (auto ok = t->session_->attach_hooks(exe_path, sites, pid); !ok) {
      if (!launched && kill(pid, 0) != 0)
        return make_error("process " + std::to_string(pid) + " exited while goscope attached");
      return ok.take_error();
    }
  }
  t->attach_ns_ = monotonic_ns() - t0;

  if (!launched) {
    auto image = sym::ProcessImage::open(pid);
    if (image) {
      t->proc_bias_ = image->load_bias();
      t->decoder_->set_load_bias(*t->proc_bias_);
      t->bias_known_ = true;
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

Expected<void> Tracer::attach_scheduler(const std::string& exe_path, pid_t pid) {
  const std::pair<const char*, gs_sched_point> points[] = {{"runtime.execute", GS_SCHED_EXECUTE},
                                                          {"runtime.schedule", GS_SCHED_SCHEDULE}};
  // Both sites first: one probe without the other would cost traps and count nothing.
  uint64_t offsets[2] = {};
  for (size_t i = 0; i < 2; i++) {
    GS_TRY(auto sites, sym::function_probe_sites(*binary_, points[i].first));
    GS_TRY(offsets[i], binary_->elf().vaddr_to_file_offset(sites.after_prologue));
  }
  for (size_t i = 0; i < 2; i++) GS_CHECK(session_->attach_sched(exe_path, offsets[i], pid, points[i].second));
  return {};
}

void Tracer::add_thread(pid_t tid) {
  for (const ThreadCounters& t : threads_)
    if (t.tid() == tid) return;
  if (threads_.size() >= GS_PMU_MAX_THREADS) {
    if (!std::exchange(thread_cap_noted_, true))
      counter_notes_.push_back("more than " + std::to_string(GS_PMU_MAX_THREADS) +
                               " threads: later ones are not counted");
    return;
  }
  auto counters = ThreadCounters::open(tid, counter_infos_);
  if (!counters) return;  // gone already: it ran for no time we could count
  const auto slot = static_cast<uint32_t>(threads_.size());
  if (auto ok = session_->set_thread_counters(tid, slot, 1, counters->fds()); !ok)
    counter_notes_.push_back(ok.error().message);
  thread_names_.push_back(thread_name(pid_, tid));
  threads_.push_back(std::move(*counters));
}

void Tracer::on_record(std::span<const uint8_t> rec) {
  uint32_t type = 0;
  if (rec.size() >= sizeof(gs_event_header)) std::memcpy(&type, rec.data(), sizeof type);
  if (type == GS_EV_THREAD && rec.size() >= sizeof(gs_thread_event)) {
    gs_thread_event ev;
    std::memcpy(&ev, rec.data(), sizeof ev);
    add_thread(static_cast<pid_t>(ev.child_tid));
    return;
  }
  if (type == GS_EV_GOROUTINE_COUNTS && rec.size() >= sizeof(gs_goroutine_counts)) {
    gs_goroutine_counts ev;
    std::memcpy(&ev, rec.data(), sizeof ev);
    gs_pmu_goroutine& acc = spilled_[ev.hdr.goid];
    acc.slices += 1;
    for (size_t i = 0; i < GS_PMU_MAX_EVENTS; i++) {
      acc.value[i] += ev.counts.value[i];
      acc.enabled[i] += ev.counts.enabled[i];
      acc.running[i] += ev.counts.running[i];
    }
    return;
  }
  if (type == GS_EV_CPU_SAMPLE && !bias_known_) learn_load_bias();
  if (sink_) decoder_->decode(rec, *sink_);
}

bool Tracer::learn_load_bias() {
  if (bias_known_) return true;
  if (!binary_->is_pie()) return bias_known_ = true;
  // Only once the program runs: before its exec, /proc/PID/exe is goscope.
  auto image = sym::ProcessImage::open(pid_);
  if (!image || image->exe_name().empty()) return false;
  auto exe = sym::GoBinary::open_cached(image->exe_path());
  if (!exe || *exe != binary_) return false;
  proc_bias_ = image->load_bias();
  decoder_->set_load_bias(*proc_bias_);
  return bias_known_ = true;
}

model::StatResult Tracer::counter_totals() const {
  model::StatResult r;
  r.pid = pid_;
  r.counters = counter_infos_;
  const PmuInfo pmu = detect_pmu();
  r.hardware_pmu = pmu.hardware;
  const bool wants_hardware =
      std::any_of(counter_infos_.begin(), counter_infos_.end(), [](const auto& c) { return c.hardware; });
  if (!pmu.hardware && wants_hardware) r.pmu_note = pmu.note;
  r.process.assign(counter_infos_.size(), model::CounterValue{model::CounterState::kNotSupported});
  const std::vector<pid_t> alive = list_threads(pid_);
  for (size_t k = 0; k < threads_.size(); k++) {
    model::ThreadCounts t;
    t.tid = threads_[k].tid();
    t.exited = !std::binary_search(alive.begin(), alive.end(), t.tid);
    // Named now: a launched program's first thread was still goscope when it was opened.
    t.name = t.exited ? thread_names_[k] : thread_name(pid_, t.tid);
    if (t.name.empty()) t.name = thread_names_[k];
    t.values = threads_[k].read();
    for (size_t i = 0; i < t.values.size() && i < r.process.size(); i++) {
      if (k == 0)
        r.process[i] = t.values[i];
      else
        r.process[i] += t.values[i];
    }
    r.threads.push_back(std::move(t));
  }
  std::sort(r.threads.begin(), r.threads.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });

  r.per_goroutine = goroutine_counters_;
  r.notes = counter_notes_;
  if (!goroutine_counters_) return r;
  std::unordered_map<uint64_t, gs_pmu_goroutine> all(spilled_.begin(), spilled_.end());
  for (auto& [goid, g] : session_->goroutine_counters()) {
    auto [it, inserted] = all.try_emplace(goid, g);
    if (inserted) continue;
    gs_pmu_goroutine& acc = it->second;
    acc.gopc = g.gopc ? g.gopc : acc.gopc;
    acc.startpc = g.startpc ? g.startpc : acc.startpc;
    acc.slices += g.slices;
    for (size_t i = 0; i < GS_PMU_MAX_EVENTS; i++) {
      acc.value[i] += g.value[i];
      acc.enabled[i] += g.enabled[i];
      acc.running[i] += g.running[i];
    }
  }
  uint64_t bias = proc_bias_.value_or(0);
  if (!proc_bias_ && binary_->is_pie())
    if (auto image = sym::ProcessImage::open(pid_)) bias = image->load_bias();
  auto values_of = [&](const gs_pmu_goroutine& g) {
    std::vector<model::CounterValue> v(counter_infos_.size());
    for (size_t i = 0; i < v.size(); i++) {
      const bool supported = r.process[i].state != model::CounterState::kNotSupported;
      v[i].state = !supported ? model::CounterState::kNotSupported
                   : g.running[i] ? model::CounterState::kCounted
                                  : model::CounterState::kNotCounted;
      v[i].raw = g.value[i];
      v[i].enabled_ns = g.enabled[i];
      v[i].running_ns = g.running[i];
    }
    return v;
  };
  for (const auto& [goid, g] : all) {
    if (goid == 0) {
      r.unattributed = values_of(g);
      continue;
    }
    model::GoroutineCounts gc;
    gc.goid = goid;
    gc.create_pc = g.gopc >= bias ? g.gopc - bias : g.gopc;
    gc.start_pc = g.startpc >= bias ? g.startpc - bias : g.startpc;
    gc.slices = g.slices;
    gc.values = values_of(g);
    r.goroutines.push_back(std::move(gc));
  }
  if (r.unattributed.empty()) r.unattributed = values_of(gs_pmu_goroutine{});
  std::sort(r.goroutines.begin(), r.goroutines.end(), [](const auto& a, const auto& b) { return a.goid < b.goid; });
  return r;
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
  c.samples = bpf[GS_CNT_SAMPLES];
  c.lost_samples = bpf[GS_CNT_SAMPLE_DROP];
  c.counter_faults = bpf[GS_CNT_PMU_READ_FAULT];
  c.lost_slices = bpf[GS_CNT_GOR_LOST];
  return c;
}

}  // namespace goscope::loader
