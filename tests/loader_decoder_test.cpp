// EventDecoder fed gs_hook_event records built the way gs_hook builds them, against the
// real probe plan of real binaries of every Go version (non-PIE, and PIE loaded at a bias):
// what each hook's record turns into, entry/RET pairing, what a park waits on, and that a
// malformed record is counted, never trusted.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "loader/event_decoder.h"
#include "loader/probe_plan.h"
#include "model/event.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

// Found by argument-dependent lookup (std::vector's == and gtest's printer): internal linkage.
namespace goscope::model {
[[maybe_unused]] static bool operator==(const ObjectRef& a, const ObjectRef& b) {
  return a.address == b.address && a.kind == b.kind && a.flags == b.flags;
}
[[maybe_unused]] static std::ostream& operator<<(std::ostream& os, const ObjectRef& o) {
  return os << "{0x" << std::hex << o.address << std::dec << " " << object_kind_name(o.kind) << " flags "
            << o.flags << "}";
}
}  // namespace goscope::model

namespace goscope::loader {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;
using model::Event;
using model::EventKind;
using model::ObjectKind;
using model::ObjectRef;

constexpr uint64_t kPieBias = 0x555500000000;
constexpr uint64_t kZF = 0x40;  // eflags.ZF

// One traced binary: its plan, and where "the process" loaded it.
struct Target {
  std::string path;
  int minor = 0;
  std::shared_ptr<const sym::GoBinary> bin;
  Plan plan;
  uint64_t bias = 0;

  const sym::GoOffsets& offsets() const { return bin->offsets().offsets; }

  // Index of the nth planned site of (hook, kind); fails the test when there is none.
  size_t site(Hook h, uint8_t kind, size_t nth = 0) const {
    for (size_t i = 0; i < plan.sites.size(); i++)
      if (plan.sites[i].hook == h && plan.sites[i].site == kind && nth-- == 0) return i;
    ADD_FAILURE() << path << ": no " << hook_name(h) << " site of kind " << int(kind);
    return plan.sites.size();
  }
  size_t site_in(Hook h, const std::string& function) const {
    for (size_t i = 0; i < plan.sites.size(); i++)
      if (plan.sites[i].hook == h && plan.sites[i].function == function) return i;
    ADD_FAILURE() << path << ": no " << hook_name(h) << " site at " << function;
    return plan.sites.size();
  }
  const std::string& function(Hook h) const { return plan.sites[site(h, GS_SITE_ENTRY)].function; }

  // ELF vaddr `offset` bytes into a function of the binary (checked to be inside it).
  uint64_t vaddr_in(const std::string& function, uint64_t offset) const {
    auto idx = bin->pclntab().function_named(function);
    if (!idx) {
      ADD_FAILURE() << path << ": no function " << function;
      return 0;
    }
    const uint64_t entry = bin->pclntab().function_entry(*idx);
    EXPECT_LT(entry + offset, bin->pclntab().function_end(*idx)) << function << " is too short";
    return entry + offset;
  }
  // The same as a process address: what BPF reads from the stack.
  uint64_t pc_in(const std::string& function, uint64_t offset) const {
    return vaddr_in(function, offset) + bias;
  }
};

std::vector<Target> targets(const std::string& prog, ProbeSet set = ProbeSet::kAllOps,
                            bool scheduler = true) {
  std::vector<Target> out;
  for (const auto& tc : toolchains()) {
    for (const std::string variant : {"default", "pie"}) {
      Target t;
      t.path = testprog(tc.version, variant, prog);
      t.minor = std::stoi(tc.version.substr(2));
      auto b = sym::GoBinary::open_cached(t.path);
      EXPECT_TRUE(b) << t.path << ": " << b.error().message;
      if (!b) continue;
      t.bin = *b;
      PlanOptions o;
      o.set = set;
      o.scheduler = scheduler;
      auto p = make_plan(*t.bin, o, GS_DEFAULT_FRAMES);
      EXPECT_TRUE(p) << t.path << ": " << p.error().message;
      if (!p) continue;
      t.plan = std::move(*p);
      t.bias = t.bin->is_pie() ? kPieBias : 0;
      EXPECT_EQ(t.bin->is_pie(), variant == "pie") << t.path;
      out.push_back(std::move(t));
    }
  }
  return out;
}

// What BPF saw at one site.
struct Rec {
  uint64_t goid = 0;
  uint64_t time = 0;
  uint32_t tid = 4242;
  uint8_t flags = 0;
  uint64_t rax = 0, rbx = 0, rcx = 0, rdi = 0, rsi = 0, r8 = 0;
  std::vector<uint64_t> data;
  std::vector<uint64_t> callers;  // process addresses after frame [0] (return addresses)
  bool ip_frame = true;           // frame [0] is the probed instruction (off the system stack)
};

// The record exactly as gs_hook submits it: only ndata + nframes words are sent.
std::vector<uint8_t> encode(const Target& t, size_t index, const Rec& r) {
  if (index >= t.plan.sites.size()) return {};
  const PlannedSite& s = t.plan.sites[index];
  gs_hook_event ev;
  std::memset(&ev, 0, sizeof ev);
  ev.hdr.type = GS_EV_HOOK;
  ev.hdr.ktime_ns = r.time;
  ev.hdr.tgid = 1000;
  ev.hdr.tid = r.tid;
  ev.hdr.goid = r.goid;
  ev.cookie = s.cookie;
  ev.hook = t.plan.configs[s.slot].hook;
  ev.site = t.plan.configs[s.slot].site;
  ev.flags = r.flags;
  ev.ip = s.vaddr + t.bias;
  const uint64_t regs[GS_HOOK_REGS] = {r.rax, r.rbx, r.rcx, r.rdi, r.rsi, r.r8};
  std::memcpy(ev.regs, regs, sizeof regs);
  size_t n = 0;
  for (uint64_t w : r.data) ev.words[n++] = w;
  ev.ndata = static_cast<uint8_t>(r.data.size());
  if (r.ip_frame) ev.words[n++] = ev.ip;
  for (uint64_t pc : r.callers) ev.words[n++] = pc;
  ev.nframes = static_cast<uint8_t>(n - ev.ndata);
  const size_t size = GS_HOOK_EVENT_FIXED + 8 * n;
  ev.hdr.size = static_cast<uint32_t>(size);
  std::vector<uint8_t> bytes(size);
  std::memcpy(bytes.data(), &ev, size);
  return bytes;
}

// A decoder over one target, collecting what it emits.
struct Session {
  const Target& t;
  model::StackTable stacks;
  EventDecoder decoder;
  explicit Session(const Target& target) : t(target), decoder(*target.bin, target.plan, stacks) {}

  std::vector<Event> feed(const std::vector<uint8_t>& record) {
    std::vector<Event> out;
    decoder.decode(record, [&](const Event& e) { out.push_back(e); });
    return out;
  }
  std::vector<Event> feed(size_t site, const Rec& r) { return feed(encode(t, site, r)); }
  // Exactly one event, or a failure and an empty one.
  Event one(size_t site, const Rec& r) {
    auto v = feed(site, r);
    EXPECT_EQ(v.size(), 1u) << t.path << ": " << hook_name(t.plan.sites[site].hook);
    return v.empty() ? Event{} : v.front();
  }
  std::vector<uint64_t> stack(model::StackId id) const {
    auto s = stacks.get(id);
    return {s.begin(), s.end()};
  }
};

using Objects = std::vector<ObjectRef>;

TEST(LoaderDecoder, GoCreateTakesTheNewGoroutineAndItsParent) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("mutex_contention")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t site = t.site(Hook::kNewproc1, GS_SITE_RET);
    const gs_site_config& cfg = t.plan.configs[t.plan.sites[site].slot];
    ASSERT_EQ(cfg.nderefs, t.minor >= 21 ? 4 : 3);
    // newproc1 runs on the system stack: the record's goroutine is m.curg, the creator (9);
    // from 1.21 on the new g's parentGoid (7 here, to tell them apart) says who.
    Rec r;
    r.goid = 9;
    r.time = 123456789;
    r.flags = GS_REC_SYSTEM_STACK;
    r.rax = 0xc000123000;
    r.data = {42, t.pc_in("main.main", 0x40), t.pc_in("main.main.func1", 0), 7};
    r.data.resize(cfg.nderefs);
    r.ip_frame = false;
    r.callers = {t.pc_in("main.main", 0x40)};
    const Event e = run.one(site, r);
    EXPECT_EQ(e.kind, EventKind::kGoCreate);
    EXPECT_EQ(e.goid, 42u);
    EXPECT_EQ(e.other_goid, t.minor >= 21 ? 7u : 9u);
    EXPECT_EQ(e.pc, t.vaddr_in("main.main", 0x40));
    EXPECT_EQ(e.start_pc, t.vaddr_in("main.main.func1", 0));
    EXPECT_EQ(e.flags, model::kSystemStack);
    EXPECT_EQ(e.tid, 4242u);
    EXPECT_EQ(e.time_ns, 123456789);
    EXPECT_EQ(e.begin_ns, 0);
    EXPECT_EQ(run.stack(e.stack), (std::vector<uint64_t>{t.vaddr_in("main.main", 0x40)}));
    EXPECT_EQ(run.decoder.load_bias(), t.bias);
    EXPECT_EQ(run.decoder.stats().records, 1u);
    EXPECT_EQ(run.decoder.stats().events, 1u);
  }
}

TEST(LoaderDecoder, ParkNamesWaitReasonAndChannels) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("select_mix")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t park = t.site(Hook::kGopark, GS_SITE_ENTRY);
    Rec r;
    r.goid = 12;
    r.time = 1000;
    r.rbx = 0xc000077700;
    r.rcx = 0xabcdef00 | 9;  // a waitReason is a uint8: only the low byte counts
    r.callers = {t.pc_in("runtime.selectgo", 0x100), t.pc_in("main.main", 0x30)};
    // g.waiting of a select: one sudog per case, bit 0 = isSelect; a nil channel is skipped.
    r.data = {0xc000100000 | 1, 0, 0xc000200000 | 1};
    Event e = run.one(park, r);
    EXPECT_EQ(e.kind, EventKind::kPark);
    EXPECT_EQ(e.goid, 12u);
    EXPECT_EQ(e.wait_reason, 9u);
    EXPECT_EQ(e.objects, (Objects{{0xc000100000, ObjectKind::kChannel, model::kInSelect},
                                  {0xc000200000, ObjectKind::kChannel, model::kInSelect}}));
    EXPECT_EQ(e.object, 0xc000100000u);
    EXPECT_EQ(e.object_kind, ObjectKind::kChannel);
    EXPECT_EQ(e.flags, 0);
    EXPECT_EQ(run.stack(e.stack),
              (std::vector<uint64_t>{t.plan.sites[park].vaddr, t.vaddr_in("runtime.selectgo", 0x100),
                                     t.vaddr_in("main.main", 0x30)}));
    // A plain channel operation: one sudog, not a select.
    r.data = {0xc000300000};
    r.flags = GS_REC_MORE_DATA;
    e = run.one(park, r);
    EXPECT_EQ(e.objects, (Objects{{0xc000300000, ObjectKind::kChannel, 0}}));
    EXPECT_EQ(e.flags, model::kMoreObjects);
    // No sudog: the lock gopark was given, whatever it is.
    r.data = {};
    r.flags = 0;
    e = run.one(park, r);
    EXPECT_EQ(e.objects, (Objects{{0xc000077700, ObjectKind::kOther, 0}}));
    EXPECT_EQ(e.object, 0xc000077700u);
    EXPECT_EQ(e.object_kind, ObjectKind::kOther);
    r.rbx = 0;
    e = run.one(park, r);
    EXPECT_TRUE(e.objects.empty());
    EXPECT_EQ(e.object, 0u);
    EXPECT_EQ(e.object_kind, ObjectKind::kNone);
    EXPECT_EQ(run.decoder.stats().events, 4u);
    EXPECT_EQ(run.decoder.stats().malformed, 0u);
  }
}

TEST(LoaderDecoder, SemaphoreOfAMutexNamesTheNextParkInsideSemacquire) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("mutex_contention")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t acquire = t.site(Hook::kSemacquire, GS_SITE_ENTRY);
    const size_t park = t.site(Hook::kGopark, GS_SITE_ENTRY);
    const std::string lock_slow = t.function(Hook::kMutexLockSlow);
    const uint64_t mutex = 0xc000010040;
    const uint64_t sema = mutex + *t.offsets().mutex_sema;
    // semacquire1(&m.sema) called from lockSlow.
    Rec acq;
    acq.goid = 21;
    acq.time = 500;
    acq.rax = sema;
    acq.callers = {t.pc_in(lock_slow, 0x30), t.pc_in("main.main.func1", 0x30)};
    Event e = run.one(acquire, acq);
    EXPECT_EQ(e.kind, EventKind::kSyncBlock);
    EXPECT_EQ(e.goid, 21u);
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.object_kind, ObjectKind::kMutex);
    EXPECT_EQ(e.flags, 0);
    // Its park inside semacquire1: the mutex, not the semaRoot lock gopark was given.
    Rec in_sema;
    in_sema.goid = 21;
    in_sema.time = 600;
    in_sema.rbx = 0xc0000aaa00;
    in_sema.rcx = 18;
    in_sema.callers = {t.pc_in("runtime.semacquire1", 0x40), t.pc_in(lock_slow, 0x30)};
    e = run.one(park, in_sema);
    EXPECT_EQ(e.kind, EventKind::kPark);
    EXPECT_EQ(e.objects, (Objects{{mutex, ObjectKind::kMutex, 0}}));
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.object_kind, ObjectKind::kMutex);
    // The announcement is used once.
    e = run.one(park, in_sema);
    EXPECT_EQ(e.objects, (Objects{{0xc0000aaa00, ObjectKind::kOther, 0}}));
    // Another goroutine's park does not take it.
    acq.goid = 23;
    run.one(acquire, acq);
    in_sema.goid = 24;
    e = run.one(park, in_sema);
    EXPECT_EQ(e.object_kind, ObjectKind::kOther);
    in_sema.goid = 23;
    e = run.one(park, in_sema);
    EXPECT_EQ(e.objects, (Objects{{mutex, ObjectKind::kMutex, 0}}));
    // semacquire1 often gets the semaphore at once and returns without parking: a later
    // park elsewhere (a sleep) is not about the mutex, and drops the stale announcement.
    acq.goid = 22;
    run.one(acquire, acq);
    Rec sleep;
    sleep.goid = 22;
    sleep.rcx = 19;
    sleep.callers = {t.pc_in("main.main", 0x40)};
    e = run.one(park, sleep);
    EXPECT_TRUE(e.objects.empty());
    EXPECT_EQ(e.object_kind, ObjectKind::kNone);
    in_sema.goid = 22;
    in_sema.rbx = 0;
    e = run.one(park, in_sema);
    EXPECT_TRUE(e.objects.empty());
    // An exited goroutine's announcement goes with it.
    acq.goid = 25;
    run.one(acquire, acq);
    Rec exit;
    exit.goid = 25;
    e = run.one(t.site(Hook::kGoexit1, GS_SITE_ENTRY), exit);
    EXPECT_EQ(e.kind, EventKind::kGoExit);
    EXPECT_EQ(e.goid, 25u);
    in_sema.goid = 25;
    e = run.one(park, in_sema);
    EXPECT_TRUE(e.objects.empty());
    // A release through unlockSlow names the mutex too.
    Rec rel;
    rel.goid = 26;
    rel.rax = sema;
    rel.callers = {t.pc_in(t.function(Hook::kMutexUnlockSlow), 0x20), t.pc_in("main.main.func2", 0x20)};
    e = run.one(t.site(Hook::kSemrelease, GS_SITE_ENTRY), rel);
    EXPECT_EQ(e.kind, EventKind::kSyncRelease);
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.object_kind, ObjectKind::kMutex);
    // A semaphore no known sync function owns stays a semaphore.
    acq.goid = 27;
    acq.callers = {t.pc_in("main.main", 0x20)};
    e = run.one(acquire, acq);
    EXPECT_EQ(e.object, sema);
    EXPECT_EQ(e.object_kind, ObjectKind::kSemaphore);
    EXPECT_EQ(run.decoder.stats().malformed, 0u);
    EXPECT_EQ(run.decoder.stats().unpaired, 0u);
  }
}

TEST(LoaderDecoder, WaitGroupAndCondWaitsNameTheirObject) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("waitgroup_cond")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t park = t.site(Hook::kGopark, GS_SITE_ENTRY);
    // WaitGroup.Wait: the hook on Wait itself, then semacquire1(&wg.sema) and its park.
    const uint64_t wg = 0xc000020010;
    Rec w;
    w.goid = 31;
    w.rax = wg;
    w.callers = {t.pc_in("main.main", 0x20)};
    Event e = run.one(t.site(Hook::kWaitGroupWait, GS_SITE_ENTRY), w);
    EXPECT_EQ(e.kind, EventKind::kWaitGroupWait);
    EXPECT_EQ(e.object, wg);
    EXPECT_EQ(e.object_kind, ObjectKind::kWaitGroup);
    w.rax = wg + *t.offsets().waitgroup_sema;
    w.callers = {t.pc_in("sync.(*WaitGroup).Wait", 0x30), t.pc_in("main.main", 0x20)};
    e = run.one(t.site(Hook::kSemacquire, GS_SITE_ENTRY), w);
    EXPECT_EQ(e.kind, EventKind::kSyncBlock);
    EXPECT_EQ(e.object, wg);
    EXPECT_EQ(e.object_kind, ObjectKind::kWaitGroup);
    Rec p;
    p.goid = 31;
    p.callers = {t.pc_in("runtime.semacquire1", 0x40), t.pc_in("sync.(*WaitGroup).Wait", 0x30)};
    e = run.one(park, p);
    EXPECT_EQ(e.objects, (Objects{{wg, ObjectKind::kWaitGroup, 0}}));
    // Cond.Wait: notifyListWait(&c.notify, t) announces the Cond; its park is inside it.
    const uint64_t cond = 0xc000030000;
    const std::string wait_fn = t.function(Hook::kNotifyListWait);
    Rec c;
    c.goid = 32;
    c.rax = cond + *t.offsets().cond_notify;
    c.callers = {t.pc_in("sync.(*Cond).Wait", 0x30)};
    e = run.one(t.site(Hook::kNotifyListWait, GS_SITE_ENTRY), c);
    EXPECT_EQ(e.kind, EventKind::kCondWait);
    EXPECT_EQ(e.object, cond);
    EXPECT_EQ(e.object_kind, ObjectKind::kCond);
    p.goid = 32;
    p.rbx = 0xc000030008;
    p.callers = {t.pc_in(wait_fn, 0x30), t.pc_in("sync.(*Cond).Wait", 0x30)};
    e = run.one(park, p);
    EXPECT_EQ(e.objects, (Objects{{cond, ObjectKind::kCond, 0}}));
    EXPECT_EQ(e.object, cond);
    c.goid = 33;
    e = run.one(t.site(Hook::kNotifyOne, GS_SITE_ENTRY), c);
    EXPECT_EQ(e.kind, EventKind::kCondSignal);
    EXPECT_EQ(e.object, cond);
    EXPECT_EQ(e.object_kind, ObjectKind::kCond);
    EXPECT_EQ(e.value, 1);
    e = run.one(t.site(Hook::kNotifyAll, GS_SITE_ENTRY), c);
    EXPECT_EQ(e.kind, EventKind::kCondSignal);
    EXPECT_EQ(e.value, 0);
  }
}

TEST(LoaderDecoder, ReadyNamesTheWakee) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("pipeline")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    Rec r;
    r.goid = 5;  // ready() runs on the system stack: the waker is m.curg
    r.flags = GS_REC_SYSTEM_STACK;
    r.rax = 0xc000456000;
    r.data = {11};
    r.ip_frame = false;
    r.callers = {t.pc_in("main.main", 0x10)};
    const Event e = run.one(t.site(Hook::kReady, GS_SITE_ENTRY), r);
    EXPECT_EQ(e.kind, EventKind::kReady);
    EXPECT_EQ(e.goid, 5u);
    EXPECT_EQ(e.other_goid, 11u);
    EXPECT_EQ(e.flags, model::kSystemStack);
  }
}

TEST(LoaderDecoder, ChannelSendAndReceivePairEntryWithReturn) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("pipeline")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t send = t.site(Hook::kChansend, GS_SITE_ENTRY);
    const size_t send_ret = t.site(Hook::kChansend, GS_SITE_RET, 2);
    const size_t recv = t.site(Hook::kChanrecv, GS_SITE_ENTRY);
    const size_t recv_ret = t.site(Hook::kChanrecv, GS_SITE_RET, 1);
    const uint64_t ch = 0xc000500000;
    // chansend(c, ep, block, callerpc): entry RAX = c, RCX = block; RET RAX = sent.
    Rec in;
    in.goid = 30;
    in.time = 1000;
    in.rax = ch;
    in.rcx = 0x7701;  // a bool is its low byte
    in.callers = {t.pc_in("main.main.func1", 0x20)};
    EXPECT_TRUE(run.feed(send, in).empty());
    EXPECT_EQ(run.stacks.size(), 1u);
    Rec out;
    out.goid = 30;
    out.time = 5000;
    out.rax = 0xff01;
    out.callers = {t.pc_in("main.main.func1", 0x20)};
    Event e = run.one(send_ret, out);
    EXPECT_EQ(e.kind, EventKind::kChanSend);
    EXPECT_EQ(e.goid, 30u);
    EXPECT_EQ(e.time_ns, 5000);
    EXPECT_EQ(e.begin_ns, 1000);
    EXPECT_EQ(e.object, ch);
    EXPECT_EQ(e.object_kind, ObjectKind::kChannel);
    EXPECT_EQ(e.flags, model::kBlocking | model::kOk);
    // The stack of the call (the entry's); the RET's own stack is not interned.
    EXPECT_EQ(run.stack(e.stack),
              (std::vector<uint64_t>{t.plan.sites[send].vaddr, t.vaddr_in("main.main.func1", 0x20)}));
    EXPECT_EQ(run.stacks.size(), 1u);
    // select-with-default send that found no receiver: neither blocking nor sent.
    in.rcx = 0x100;
    out.rax = 0x100;
    EXPECT_TRUE(run.feed(send, in).empty());
    e = run.one(send_ret, out);
    EXPECT_EQ(e.flags, 0);
    // Two goroutines interleaved: each RET finds its own entry.
    in.rcx = 1;
    in.goid = 40;
    in.rax = 0xc000600000;
    run.feed(send, in);
    in.goid = 41;
    in.rax = 0xc000700000;
    run.feed(send, in);
    out.goid = 41;
    out.rax = 1;
    EXPECT_EQ(run.one(send_ret, out).object, 0xc000700000u);
    out.goid = 40;
    EXPECT_EQ(run.one(send_ret, out).object, 0xc000600000u);
    EXPECT_EQ(run.decoder.stats().unpaired, 0u);
    // chanrecv(c, ep, block) (selected, received): RBX says a value came (not closed).
    Rec rin;
    rin.goid = 50;
    rin.time = 2000;
    rin.rax = ch;
    rin.rcx = 1;
    rin.callers = {t.pc_in("main.main.func2", 0x20)};
    Rec rout;
    rout.goid = 50;
    rout.time = 2500;
    rout.rax = 1;
    rout.rbx = 0x201;
    run.feed(recv, rin);
    e = run.one(recv_ret, rout);
    EXPECT_EQ(e.kind, EventKind::kChanRecv);
    EXPECT_EQ(e.object, ch);
    EXPECT_EQ(e.begin_ns, 2000);
    EXPECT_EQ(e.time_ns, 2500);
    EXPECT_EQ(e.flags, model::kBlocking | model::kOk | model::kReceived);
    rout.rbx = 0x200;  // closed: selected, no value
    run.feed(recv, rin);
    EXPECT_EQ(run.one(recv_ret, rout).flags, model::kBlocking | model::kOk);
    rin.rcx = 0;
    rout.rax = 0;
    rout.rbx = 0;
    run.feed(recv, rin);
    EXPECT_EQ(run.one(recv_ret, rout).flags, 0);
    // A send is not a receive: a chanrecv RET does not take a chansend entry.
    in.goid = 60;
    run.feed(send, in);
    rout.goid = 60;
    EXPECT_TRUE(run.feed(recv_ret, rout).empty());
    EXPECT_EQ(run.decoder.stats().unpaired, 1u);
    out.goid = 60;
    EXPECT_EQ(run.feed(send_ret, out).size(), 1u);
    EXPECT_EQ(run.decoder.stats().events, 8u);
    EXPECT_EQ(run.decoder.stats().malformed, 0u);
  }
}

TEST(LoaderDecoder, UnpairedHalvesAreCountedNotEmitted) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("pipeline")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t send = t.site(Hook::kChansend, GS_SITE_ENTRY);
    const size_t send_ret = t.site(Hook::kChansend, GS_SITE_RET);
    Rec r;
    r.goid = 70;
    r.rax = 0xc000800000;
    r.rcx = 1;
    // A RET whose entry was before the attach.
    EXPECT_TRUE(run.feed(send_ret, r).empty());
    EXPECT_EQ(run.decoder.stats().unpaired, 1u);
    // An entry whose RET was lost: the next entry replaces it.
    run.feed(send, r);
    r.rax = 0xc000900000;
    run.feed(send, r);
    EXPECT_EQ(run.decoder.stats().unpaired, 2u);
    EXPECT_EQ(run.one(send_ret, r).object, 0xc000900000u);
    // A goroutine that exits never returns from what it entered.
    run.feed(send, r);
    run.feed(t.site(Hook::kChanrecv, GS_SITE_ENTRY), r);
    Rec exit;
    exit.goid = 70;
    EXPECT_EQ(run.one(t.site(Hook::kGoexit1, GS_SITE_ENTRY), exit).kind, EventKind::kGoExit);
    EXPECT_EQ(run.decoder.stats().unpaired, 4u);
    EXPECT_TRUE(run.feed(send_ret, r).empty());
    EXPECT_EQ(run.decoder.stats().unpaired, 5u);
    EXPECT_EQ(run.decoder.stats().events, 2u);
    EXPECT_EQ(run.decoder.stats().records, 8u);
    EXPECT_EQ(run.decoder.stats().malformed, 0u);
  }
}

TEST(LoaderDecoder, SelectCasesDirectionAndChosenCase) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("select_mix")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t entry = t.site(Hook::kSelectgo, GS_SITE_ENTRY);
    const size_t ret = t.site(Hook::kSelectgo, GS_SITE_RET);
    // selectgo(cas0, order0, pc0, nsends, nrecvs, block): sends come first.
    Rec in;
    in.goid = 80;
    in.time = 100;
    in.rax = 0xc000a00000;
    in.rdi = 1;
    in.rsi = 2;
    in.r8 = 0x301;
    in.data = {0xc000b00000, 0xc000c00000, 0xc000d00000};
    in.callers = {t.pc_in("main.main", 0x60)};
    EXPECT_TRUE(run.feed(entry, in).empty());
    Rec out;
    out.goid = 80;
    out.time = 900;
    out.rax = 2;
    out.rbx = 1;
    Event e = run.one(ret, out);
    EXPECT_EQ(e.kind, EventKind::kSelect);
    EXPECT_EQ(e.objects, (Objects{{0xc000b00000, ObjectKind::kChannel, 0},
                                  {0xc000c00000, ObjectKind::kChannel, model::kRecvCase},
                                  {0xc000d00000, ObjectKind::kChannel, model::kRecvCase}}));
    EXPECT_EQ(e.value, 2);
    EXPECT_EQ(e.object, 0xc000d00000u);
    EXPECT_EQ(e.object_kind, ObjectKind::kChannel);
    EXPECT_EQ(e.begin_ns, 100);
    EXPECT_EQ(e.time_ns, 900);
    EXPECT_EQ(e.flags, model::kBlocking | model::kReceived);
    EXPECT_EQ(run.stack(e.stack),
              (std::vector<uint64_t>{t.plan.sites[entry].vaddr, t.vaddr_in("main.main", 0x60)}));
    // Two sends and a default that was taken (-1); more cases than a record holds.
    in.rdi = 2;
    in.rsi = 0;
    in.r8 = 0;
    in.data = {0xc000b00000, 0xc000c00000};
    in.flags = GS_REC_MORE_DATA;
    run.feed(entry, in);
    out.rax = ~uint64_t{0};
    out.rbx = 0;
    e = run.one(ret, out);
    EXPECT_EQ(e.objects,
              (Objects{{0xc000b00000, ObjectKind::kChannel, 0}, {0xc000c00000, ObjectKind::kChannel, 0}}));
    EXPECT_EQ(e.value, -1);
    EXPECT_EQ(e.object, 0u);
    EXPECT_EQ(e.object_kind, ObjectKind::kNone);
    EXPECT_EQ(e.flags, model::kMoreObjects);
  }
}

TEST(LoaderDecoder, ContendedLockWaitsFromLockSlowEntryToItsReturn) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("mutex_contention")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const uint64_t mutex = 0xc000e00000;
    Rec in;
    in.goid = 90;
    in.time = 100;
    in.rax = mutex;
    in.callers = {t.pc_in("main.main.func2", 0x30)};
    EXPECT_TRUE(run.feed(t.site(Hook::kMutexLockSlow, GS_SITE_ENTRY), in).empty());
    Rec out;
    out.goid = 90;
    out.time = 7100;
    const Event e = run.one(t.site(Hook::kMutexLockSlow, GS_SITE_RET), out);
    EXPECT_EQ(e.kind, EventKind::kMutexLock);
    EXPECT_EQ(e.goid, 90u);
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.object_kind, ObjectKind::kMutex);
    EXPECT_EQ(e.begin_ns, 100);
    EXPECT_EQ(e.time_ns, 7100);
    EXPECT_EQ(e.flags, model::kContended);
    EXPECT_EQ(run.stack(e.stack),
              (std::vector<uint64_t>{t.plan.sites[t.site(Hook::kMutexLockSlow, GS_SITE_ENTRY)].vaddr,
                                     t.vaddr_in("main.main.func2", 0x30)}));
    // unlockSlow: released with waiters.
    Rec un;
    un.goid = 90;
    un.rax = mutex;
    un.callers = {t.pc_in("main.main.func2", 0x40)};
    const Event u = run.one(t.site(Hook::kMutexUnlockSlow, GS_SITE_ENTRY), un);
    EXPECT_EQ(u.kind, EventKind::kMutexUnlock);
    EXPECT_EQ(u.object, mutex);
    EXPECT_EQ(u.object_kind, ObjectKind::kMutex);
    EXPECT_EQ(u.flags, model::kContended);
  }
}

TEST(LoaderDecoder, RWMutexWritersMutexIsTheRWMutex) {
  GS_REQUIRE_TESTPROGS();
  for (ProbeSet set : {ProbeSet::kDefault, ProbeSet::kAllOps}) {
    for (const Target& t : targets("rwmutex_contention", set, false)) {
      SCOPED_TRACE(t.path + (set == ProbeSet::kAllOps ? " (all ops)" : ""));
      Session run(t);
      const bool rw_hooks = set == ProbeSet::kAllOps;
      ASSERT_EQ(t.plan.count(Hook::kRWMutexLock) > 0, rw_hooks);
      const uint64_t rw = 0xc000f00000;
      // RWMutex.Lock -> rw.w.Lock() -> lockSlow(&rw.w).
      Rec in;
      in.goid = 100;
      in.time = 10;
      in.rax = rw + *t.offsets().rwmutex_w;
      in.callers = {t.pc_in("sync.(*RWMutex).Lock", 0x20), t.pc_in("main.main", 0x20)};
      Rec out;
      out.goid = 100;
      out.time = 20;
      run.feed(t.site(Hook::kMutexLockSlow, GS_SITE_ENTRY), in);
      auto v = run.feed(t.site(Hook::kMutexLockSlow, GS_SITE_RET), out);
      if (rw_hooks) {
        EXPECT_TRUE(v.empty());  // the RWMutex.Lock hook reports it
        in.rax = rw;
        in.callers = {t.pc_in("main.main", 0x20)};
        run.feed(t.site(Hook::kRWMutexLock, GS_SITE_ENTRY), in);
        out.time = 30;
        v = run.feed(t.site(Hook::kRWMutexLock, GS_SITE_RET), out);
      }
      ASSERT_EQ(v.size(), 1u);
      EXPECT_EQ(v[0].kind, EventKind::kMutexLock);
      EXPECT_EQ(v[0].object, rw);
      EXPECT_EQ(v[0].object_kind, ObjectKind::kRWMutex);
      EXPECT_EQ(v[0].begin_ns, 10);
      EXPECT_EQ(v[0].flags, rw_hooks ? 0 : model::kContended);
      // RWMutex.Unlock -> rw.w.Unlock() -> unlockSlow(&rw.w).
      Rec un;
      un.goid = 100;
      un.rax = rw + *t.offsets().rwmutex_w;
      un.callers = {t.pc_in("sync.(*RWMutex).Unlock", 0x20), t.pc_in("main.main", 0x20)};
      v = run.feed(t.site(Hook::kMutexUnlockSlow, GS_SITE_ENTRY), un);
      if (rw_hooks) {
        EXPECT_TRUE(v.empty());  // the RWMutex.Unlock hook reports it
        un.rax = rw;
        v = run.feed(t.site(Hook::kRWMutexUnlock, GS_SITE_ENTRY), un);
      }
      ASSERT_EQ(v.size(), 1u);
      EXPECT_EQ(v[0].kind, EventKind::kMutexUnlock);
      EXPECT_EQ(v[0].object, rw);
      EXPECT_EQ(v[0].object_kind, ObjectKind::kRWMutex);
      EXPECT_EQ(v[0].flags, rw_hooks ? 0 : model::kContended);
      EXPECT_EQ(run.decoder.stats().unpaired, 0u);
    }
  }
}

TEST(LoaderDecoder, InlinedFastPathsAcquireOnZeroFlag) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("mutex_contention")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t lock = t.site_in(Hook::kInlineLock, "sync.(*Mutex).Lock in main.main.func2");
    const size_t unlock = t.site_in(Hook::kInlineUnlock, "sync.(*Mutex).Unlock in main.main.func2");
    const size_t unlock_slow = t.site(Hook::kMutexUnlockSlow, GS_SITE_ENTRY);
    const uint64_t mutex = 0xc000110000;
    const uint64_t state = mutex + *t.offsets().mutex_state;
    // After LOCK CMPXCHG: data = operand address, eflags. ZF set: the CAS took the lock.
    Rec r;
    r.goid = 110;
    r.time = 50;
    r.data = {state, 0x246};
    r.callers = {t.pc_in("main.main", 0x50)};
    Event e = run.one(lock, r);
    EXPECT_EQ(e.kind, EventKind::kMutexLock);
    EXPECT_EQ(e.goid, 110u);
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.object_kind, ObjectKind::kMutex);
    EXPECT_EQ(e.flags, 0);
    EXPECT_EQ(e.begin_ns, 0);
    EXPECT_EQ(run.stack(e.stack),
              (std::vector<uint64_t>{t.plan.sites[lock].vaddr, t.vaddr_in("main.main", 0x50)}));
    // ZF clear: it did not; lockSlow follows and reports the acquisition.
    r.data = {state, 0x246 & ~kZF};
    EXPECT_TRUE(run.feed(lock, r).empty());
    // After LOCK XADD of Unlock, ZF set: state 0, nothing else follows.
    r.data = {state, 0x246};
    e = run.one(unlock, r);
    EXPECT_EQ(e.kind, EventKind::kMutexUnlock);
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.object_kind, ObjectKind::kMutex);
    EXPECT_EQ(e.flags, 0);
    // ...so a later unlockSlow of the same mutex by the same goroutine (a non-inlined
    // Unlock) is a release of its own.
    Rec slow;
    slow.goid = 110;
    slow.rax = mutex;
    slow.callers = {t.pc_in("main.main", 0x60)};
    e = run.one(unlock_slow, slow);
    EXPECT_EQ(e.kind, EventKind::kMutexUnlock);
    EXPECT_EQ(e.flags, model::kContended);
    // ZF clear: waiters; the release is reported at the atomic and unlockSlow, which
    // follows at once to wake one, is its second half, not a second release.
    r.data = {state, 0x202};
    e = run.one(unlock, r);
    EXPECT_EQ(e.kind, EventKind::kMutexUnlock);
    EXPECT_EQ(e.object, mutex);
    EXPECT_EQ(e.flags, model::kContended);
    EXPECT_TRUE(run.feed(unlock_slow, slow).empty());
    // The next unlockSlow is a new release again.
    EXPECT_EQ(run.one(unlock_slow, slow).object, mutex);
    EXPECT_EQ(run.decoder.stats().events, 5u);

    // Read locks: the XADD on readerCount.
    Rec rl;
    rl.goid = 111;
    const uint64_t rw = 0xc000120000;
    rl.data = {rw + *t.offsets().rwmutex_reader_count, 0x202};
    e = run.one(t.site(Hook::kInlineRLock, GS_SITE_ATOMIC), rl);
    EXPECT_EQ(e.kind, EventKind::kRLock);
    EXPECT_EQ(e.object, rw);
    EXPECT_EQ(e.object_kind, ObjectKind::kRWMutex);
    EXPECT_EQ(e.flags & model::kContended, 0);
    // SF set: readerCount went negative, a writer is pending and this reader will sleep.
    rl.data = {rw + *t.offsets().rwmutex_reader_count, 0x282};
    e = run.one(t.site(Hook::kInlineRLock, GS_SITE_ATOMIC), rl);
    EXPECT_EQ(e.kind, EventKind::kRLock);
    EXPECT_EQ(e.flags & model::kContended, model::kContended);
    rl.data = {rw + *t.offsets().rwmutex_reader_count, 0x202};
    e = run.one(t.site(Hook::kInlineRUnlock, GS_SITE_ATOMIC), rl);
    EXPECT_EQ(e.kind, EventKind::kRUnlock);
    EXPECT_EQ(e.object, rw);
    EXPECT_EQ(e.object_kind, ObjectKind::kRWMutex);
  }
}

TEST(LoaderDecoder, OtherHooks) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("mutex_contention")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    // makechan RET: RAX = the channel; data = dataqsiz, the word at elemsize (a uint16).
    Rec r;
    r.goid = 1;
    r.rax = 0xc000130000;
    r.data = {8, 0xbeef0010};
    r.callers = {t.pc_in("main.main", 0x70)};
    Event e = run.one(t.site(Hook::kMakechan, GS_SITE_RET), r);
    EXPECT_EQ(e.kind, EventKind::kChanMake);
    EXPECT_EQ(e.object, 0xc000130000u);
    EXPECT_EQ(e.object_kind, ObjectKind::kChannel);
    EXPECT_EQ(e.value, 8);
    EXPECT_EQ(e.value2, 0x10);
    r.data = {};
    e = run.one(t.site(Hook::kClosechan, GS_SITE_ENTRY), r);
    EXPECT_EQ(e.kind, EventKind::kChanClose);
    EXPECT_EQ(e.object, 0xc000130000u);
    EXPECT_EQ(e.object_kind, ObjectKind::kChannel);
    // stopTheWorldWithSema(reason) from Go 1.21 on; no reason before.
    r.rax = 0x1234;
    e = run.one(t.site(Hook::kStopTheWorld, GS_SITE_ENTRY), r);
    EXPECT_EQ(e.kind, EventKind::kStopTheWorld);
    EXPECT_EQ(e.value, t.minor >= 21 ? 0x34 : -1);
    e = run.one(t.site(Hook::kStartTheWorld, GS_SITE_ENTRY), r);
    EXPECT_EQ(e.kind, EventKind::kStartTheWorld);
    // casgstatus(gp, old, new) (scheduler view): data = gp's goid; no stack.
    Rec s;
    s.goid = 3;
    s.rbx = 0xffffffff00000002;
    s.rcx = 0xffffffff00000004;
    s.data = {77};
    s.ip_frame = false;
    e = run.one(t.site(Hook::kCasgstatus, GS_SITE_ENTRY), s);
    EXPECT_EQ(e.kind, EventKind::kStatus);
    EXPECT_EQ(e.goid, 77u);
    EXPECT_EQ(e.other_goid, 3u);
    EXPECT_EQ(e.value, (int64_t{2} << 32) | 4);
    EXPECT_EQ(e.stack, 0u);
    // Record flags become event flags; data faults are counted.
    r.flags = GS_REC_DATA_FAULT | GS_REC_STACK_CUT;
    e = run.one(t.site(Hook::kGoexit1, GS_SITE_ENTRY), r);
    EXPECT_EQ(e.kind, EventKind::kGoExit);
    EXPECT_EQ(e.flags, model::kDataFault | model::kStackCut);
    EXPECT_EQ(run.decoder.stats().data_faults, 1u);
    EXPECT_EQ(run.decoder.stats().events, 6u);
  }
}

TEST(LoaderDecoder, MalformedRecordsAreCountedNotTrusted) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("pipeline")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    const size_t park = t.site(Hook::kGopark, GS_SITE_ENTRY);
    const size_t send = t.site(Hook::kChansend, GS_SITE_ENTRY);
    Rec r;
    r.goid = 9;
    r.rbx = 0xc000140000;
    r.callers = {t.pc_in("main.main", 0x10)};
    const std::vector<uint8_t> good = encode(t, park, r);
    auto with = [&](auto&& change) {
      std::vector<uint8_t> b = good;
      gs_hook_event ev;
      std::memset(&ev, 0, sizeof ev);
      std::memcpy(&ev, b.data(), b.size());
      change(ev, b);
      std::memcpy(b.data(), &ev, std::min(b.size(), sizeof ev));
      return b;
    };
    std::vector<std::vector<uint8_t>> bad = {
        {},
        std::vector<uint8_t>(good.begin(), good.begin() + GS_HOOK_EVENT_FIXED - 1),
        with([](gs_hook_event& ev, auto&) { ev.hdr.type = GS_EV_PROBE_HIT; }),
        with([&](gs_hook_event& ev, auto&) {
          ev.cookie = GS_COOKIE(GS_COOKIE_SLOT(ev.cookie), 0, 0, t.plan.sites.size());
        }),
        with([](gs_hook_event& ev, auto&) { ev.cookie |= uint64_t{0xffffffff} << 32; }),
        // The cookie of one site, the hook of another.
        with([&](gs_hook_event& ev, auto&) { ev.hook = static_cast<uint16_t>(Hook::kChansend); }),
        // An entry site's cookie with a RET record.
        with([&](gs_hook_event& ev, auto&) { ev.site = GS_SITE_RET; }),
        // More words announced than sent.
        with([](gs_hook_event& ev, auto&) { ev.ndata = 3; }),
        with([](gs_hook_event& ev, auto&) { ev.nframes = 3; }),
        with([](gs_hook_event& ev, auto& b) {
          ev.ndata = GS_MAX_DATA + 1;
          b.resize(GS_HOOK_EVENT_FIXED + 8 * (GS_MAX_DATA + 3));
        }),
        // A record longer than any BPF sends, claiming more frames than one holds: the
        // words past gs_hook_event's end must not be read.
        with([](gs_hook_event& ev, auto& b) {
          ev.ndata = GS_MAX_DATA;
          ev.nframes = 200;
          b.resize(GS_HOOK_EVENT_FIXED + 8 * (GS_MAX_DATA + 200));
        }),
        with([](gs_hook_event& ev, auto& b) {
          ev.ndata = 0;
          ev.nframes = GS_MAX_FRAMES + 1;
          b.resize(GS_HOOK_EVENT_FIXED + 8 * (GS_MAX_FRAMES + 1));
        }),
    };
    for (size_t i = 0; i < bad.size(); i++) EXPECT_TRUE(run.feed(bad[i]).empty()) << "record " << i;
    EXPECT_EQ(run.decoder.stats().records, bad.size());
    EXPECT_EQ(run.decoder.stats().malformed, bad.size());
    EXPECT_EQ(run.decoder.stats().events, 0u);
    EXPECT_EQ(run.decoder.stats().unpaired, 0u);
    EXPECT_EQ(run.decoder.load_bias(), 0u);
    EXPECT_EQ(run.stacks.size(), 0u);
    // A record with everything a BPF record can hold is fine.
    Rec full;
    full.goid = 9;
    full.rax = 0xc000150000;
    full.rcx = 1;
    for (int i = 0; i < GS_MAX_FRAMES - 1; i++) full.callers.push_back(t.pc_in("main.main", 0x10));
    EXPECT_TRUE(run.feed(send, full).empty());
    EXPECT_EQ(run.stacks.size(), 1u);
    EXPECT_EQ(run.stack(1).size(), size_t{GS_MAX_FRAMES});
    // And the good one still decodes.
    EXPECT_EQ(run.feed(good).size(), 1u);
    EXPECT_EQ(run.decoder.stats().malformed, bad.size());
    EXPECT_EQ(run.decoder.load_bias(), t.bias);
  }
}

TEST(LoaderDecoder, StacksAreInternedWithoutTheLoadBias) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("pipeline")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    EXPECT_EQ(run.decoder.load_bias(), 0u);
    const size_t park = t.site(Hook::kGopark, GS_SITE_ENTRY);
    const size_t close = t.site(Hook::kClosechan, GS_SITE_ENTRY);
    Rec a;
    a.goid = 1;
    a.callers = {t.pc_in("main.main", 0x10), t.pc_in("main.main.func1", 0x10)};
    Rec b = a;
    b.goid = 2;
    Rec c = a;
    c.callers = {t.pc_in("main.main", 0x18), t.pc_in("main.main.func1", 0x10)};
    const Event ea = run.one(park, a);
    const Event eb = run.one(park, b);
    const Event ec = run.one(park, c);
    const Event ed = run.one(close, a);  // same callers, another probe: another stack
    EXPECT_EQ(ea.stack, 1u);
    EXPECT_EQ(eb.stack, 1u);
    EXPECT_EQ(ec.stack, 2u);
    EXPECT_EQ(ed.stack, 3u);
    EXPECT_EQ(run.stacks.size(), 3u);
    EXPECT_EQ(run.stack(1), (std::vector<uint64_t>{t.plan.sites[park].vaddr, t.vaddr_in("main.main", 0x10),
                                                   t.vaddr_in("main.main.func1", 0x10)}));
    EXPECT_EQ(run.stack(3)[0], t.plan.sites[close].vaddr);
    EXPECT_EQ(run.decoder.load_bias(), t.bias);
    // Frames resolve in the binary: the park is in gopark, called from main.main.
    std::vector<uint64_t> lookup = run.stack(1);
    for (size_t i = 1; i < lookup.size(); i++) lookup[i] -= 1;
    const auto sym = t.bin->symbolize_vaddrs(lookup);
    ASSERT_EQ(sym.size(), 3u);
    EXPECT_EQ(sym[0].frames.back().function, "runtime.gopark");
    EXPECT_EQ(sym[1].frames.back().function, "main.main");
    EXPECT_EQ(sym[2].frames.back().function, "main.main.func1");
    // No frames at all: no stack.
    Rec none;
    none.ip_frame = false;
    EXPECT_EQ(run.one(park, none).stack, 0u);
  }
}

// A CPU sample: the goroutine from TLS, the user stack less the load bias, the period
// user space set (not the event's own), the CPU, and the kernel / system-stack flags.
TEST(LoaderDecoder, CpuSampleTakesStackGoroutineAndPeriod) {
  GS_REQUIRE_TESTPROGS();
  for (const Target& t : targets("pipeline")) {
    SCOPED_TRACE(t.path);
    Session run(t);
    run.decoder.set_load_bias(t.bias);
    run.decoder.set_sample_period_ns(10'101'010);
    gs_cpu_sample s{};
    s.hdr.type = GS_EV_CPU_SAMPLE;
    s.hdr.ktime_ns = 123456789;
    s.hdr.tid = 77;
    s.hdr.goid = 18;
    s.cpu = 1;
    s.flags = GS_SAMPLE_KERNEL | GS_SAMPLE_SYSTEM_STACK;
    s.period = 999;  // what the kernel says; the decoder uses the period it was given
    const std::vector<uint64_t> pcs = {t.vaddr_in("main.main.func2", 0x10), t.vaddr_in("main.main", 0x40),
                                       t.vaddr_in("runtime.goexit", 1)};
    s.nframes = static_cast<uint16_t>(pcs.size() + 2);
    for (size_t i = 0; i < pcs.size(); i++) s.frames[i] = pcs[i] + t.bias;
    // What the kernel's walk finds above a goroutine's first frame: cut off.
    s.frames[pcs.size()] = 0xc000104800;
    s.frames[pcs.size() + 1] = 0x100000002;
    const size_t size = GS_CPU_SAMPLE_FIXED + 8 * s.nframes;
    s.hdr.size = static_cast<uint32_t>(size);
    std::vector<uint8_t> rec(size);
    std::memcpy(rec.data(), &s, size);
    auto events = run.feed(rec);
    ASSERT_EQ(events.size(), 1u);
    const Event& e = events.front();
    EXPECT_EQ(e.kind, EventKind::kCpuSample);
    EXPECT_EQ(e.goid, 18u);
    EXPECT_EQ(e.tid, 77u);
    EXPECT_EQ(e.time_ns, 123456789);
    EXPECT_EQ(e.value, 10'101'010);
    EXPECT_EQ(e.value2, 1);
    EXPECT_EQ(e.flags, model::kInKernel | model::kSystemStack);
    EXPECT_EQ(run.stack(e.stack), pcs);

    // More frames claimed than the record carries: counted as malformed, no event.
    s.nframes = 9;
    std::memcpy(rec.data(), &s, size);
    EXPECT_TRUE(run.feed(rec).empty());
    EXPECT_EQ(run.decoder.stats().malformed, 1u);
  }
}

}  // namespace
}  // namespace goscope::loader
