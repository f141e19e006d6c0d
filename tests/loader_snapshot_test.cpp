// The goroutine snapshot's logic without a process: the frame-pointer walk over
// synthetic stacks (bounds, cycles, depth), and read_snapshot over a fake memory
// laid out with a real Go binary's offsets (sudog lists, dead / running goroutines,
// torn stacks, goroutines that change between the two reads).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "loader/snapshot_reader.h"
#include "symbolizer/runtime_vars.h"
#include "testprogs.h"

namespace goscope::loader {
namespace {

using model::StackState;

// A little-endian stack image at `base`.
struct FakeStack {
  uint64_t base;
  std::vector<uint8_t> bytes;
  FakeStack(uint64_t b, size_t size) : base(b), bytes(size, 0) {}
  void put(uint64_t addr, uint64_t v) { std::memcpy(bytes.data() + (addr - base), &v, 8); }
  StackWindow window() const { return {base, bytes}; }
};

TEST(SnapshotWalk, FollowsFramePointersToTheFirstFrame) {
  FakeStack s(0x1000, 0x100);
  s.put(0x1010, 0x1040);  // saved bp of the caller
  s.put(0x1018, 0x4001);  // return address into the caller
  s.put(0x1040, 0);       // the goroutine's first frame: no caller frame
  s.put(0x1048, 0x4002);  // return address into runtime.goexit
  const StackWalk w = walk_frames(s.window(), 0x4000, 0x1010, 100);
  EXPECT_EQ(w.state, StackState::kComplete);
  EXPECT_EQ(w.pcs, (std::vector<uint64_t>{0x4000, 0x4001, 0x4002}));
}

TEST(SnapshotWalk, ZeroReturnAddressEndsTheWalk) {
  FakeStack s(0x1000, 0x100);
  s.put(0x1010, 0x1040);
  s.put(0x1018, 0);
  const StackWalk w = walk_frames(s.window(), 0x4000, 0x1010, 100);
  EXPECT_EQ(w.state, StackState::kComplete);
  EXPECT_EQ(w.pcs, (std::vector<uint64_t>{0x4000}));
}

TEST(SnapshotWalk, NoFramePointerIsJustThePc) {
  FakeStack s(0x1000, 0x100);
  const StackWalk w = walk_frames(s.window(), 0x4000, 0, 100);
  EXPECT_EQ(w.state, StackState::kComplete);
  EXPECT_EQ(w.pcs, (std::vector<uint64_t>{0x4000}));
}

TEST(SnapshotWalk, FramePointerOutsideTheStackIsTorn) {
  FakeStack s(0x1000, 0x100);
  s.put(0x1010, 0x9000);  // points outside the stack: the goroutine moved on
  s.put(0x1018, 0x4001);
  const StackWalk w = walk_frames(s.window(), 0x4000, 0x1010, 100);
  EXPECT_EQ(w.state, StackState::kTorn);
  EXPECT_EQ(w.pcs, (std::vector<uint64_t>{0x4000, 0x4001}));
  EXPECT_EQ(walk_frames(s.window(), 0x4000, 0x0ff0, 100).state, StackState::kTorn);  // below the window
  EXPECT_EQ(walk_frames(s.window(), 0x4000, 0x10f8, 100).state,
            StackState::kTorn);  // return address past the end
}

TEST(SnapshotWalk, CyclesAndDownwardLinksAreTorn) {
  FakeStack s(0x1000, 0x100);
  s.put(0x1010, 0x1010);  // points at itself
  s.put(0x1018, 0x4001);
  const StackWalk self = walk_frames(s.window(), 0x4000, 0x1010, 100);
  EXPECT_EQ(self.state, StackState::kTorn);
  EXPECT_EQ(self.pcs.size(), 2u);

  FakeStack d(0x1000, 0x100);
  d.put(0x1040, 0x1010);  // callers are above: a link downwards is garbage
  d.put(0x1048, 0x4001);
  d.put(0x1010, 0x1040);
  d.put(0x1018, 0x4002);
  const StackWalk down = walk_frames(d.window(), 0x4000, 0x1040, 100);
  EXPECT_EQ(down.state, StackState::kTorn);
  EXPECT_EQ(down.pcs.size(), 2u);
}

TEST(SnapshotWalk, MisalignedFramePointerIsTorn) {
  FakeStack s(0x1000, 0x100);
  EXPECT_EQ(walk_frames(s.window(), 0x4000, 0x1013, 100).state, StackState::kTorn);
}

TEST(SnapshotWalk, DepthLimitTruncates) {
  FakeStack s(0x1000, 0x1000);
  for (uint64_t bp = 0x1000; bp < 0x1f00; bp += 0x20) {  // a long chain of frames
    s.put(bp, bp + 0x20);
    s.put(bp + 8, 0x5000 + bp);
  }
  const StackWalk w = walk_frames(s.window(), 0x4000, 0x1000, 10);
  EXPECT_EQ(w.state, StackState::kTruncated);
  EXPECT_EQ(w.pcs.size(), 10u);
  EXPECT_EQ(walk_frames(s.window(), 0x4000, 0x1000, 0).state, StackState::kTruncated);
}

// Sparse fake process memory; a read succeeds only inside one region.
class FakeMemory final : public MemoryReader {
 public:
  std::vector<uint8_t>& region(uint64_t at, size_t size) {
    auto& r = regions_[at];
    r.resize(size);
    return r;
  }
  void put(uint64_t at, uint64_t v) {
    for (auto& [base, bytes] : regions_)
      if (at >= base && at + 8 <= base + bytes.size()) {
        std::memcpy(bytes.data() + (at - base), &v, 8);
        return;
      }
    ADD_FAILURE() << "no region at " << at;
  }
  void put32(uint64_t at, uint32_t v) {
    for (auto& [base, bytes] : regions_)
      if (at >= base && at + 4 <= base + bytes.size()) std::memcpy(bytes.data() + (at - base), &v, 4);
  }
  void put8(uint64_t at, uint8_t v) {
    for (auto& [base, bytes] : regions_)
      if (at >= base && at < base + bytes.size()) bytes[at - base] = v;
  }
  bool read(uint64_t address, std::span<uint8_t> out) override {
    for (auto& w : watches_)
      if (address == w.address && ++w.reads == 2) w.f();
    for (auto& [base, bytes] : regions_)
      if (address >= base && address + out.size() <= base + bytes.size()) {
        std::memcpy(out.data(), bytes.data() + (address - base), out.size());
        return true;
      }
    return false;
  }
  // Runs `f` when `address` is read the second time (the goroutine "moves on").
  void on_second_read(uint64_t address, std::function<void()> f) {
    watches_.push_back({address, 0, std::move(f)});
  }

 private:
  std::map<uint64_t, std::vector<uint8_t>> regions_;
  struct Watch {
    uint64_t address;
    int reads;
    std::function<void()> f;
  };
  std::vector<Watch> watches_;
};

TEST(SnapshotRead, ReadsGoroutinesFromFakeMemory) {
  GS_REQUIRE_TESTPROGS();
  const auto& tc = goscope::testing::toolchains().back();
  auto bin = sym::GoBinary::open(goscope::testing::testprog(tc.version, "default", "hello_probe"));
  ASSERT_TRUE(bin) << bin.error().message;
  const sym::GoBinary& b = **bin;
  const sym::GoOffsets& o = b.offsets().offsets;
  ASSERT_TRUE(o.g_goid && o.g_atomicstatus && o.g_sched_sp && o.g_stack_hi && o.g_waiting && o.sudog_c &&
              o.sudog_waitlink && o.g_waitreason);
  auto proc = sym::ProcessImage::open(getpid());  // only for its address conversions
  ASSERT_TRUE(proc);
  const auto allglen = b.elf().find_symbol("runtime.allglen");
  const auto allgptr = b.elf().find_symbol("runtime.allgptr");
  ASSERT_TRUE(allglen && allgptr);

  FakeMemory m;
  m.region(proc->to_process(allglen->vaddr), 8);
  m.region(proc->to_process(allgptr->vaddr), 8);
  m.put(proc->to_process(allglen->vaddr), 6);
  m.put(proc->to_process(allgptr->vaddr), 0x10000);
  m.region(0x10000, 48);
  const uint64_t gs[] = {0x20000, 0x21000, 0x22000, 0x23000, 0x24000, 0x25000};
  for (int i = 0; i < 6; i++) {
    m.put(0x10000 + 8 * i, gs[i]);
    m.region(gs[i], 0x800);
  }
  auto g = [&](int i, sym::Offset off) { return gs[i] + *off; };
  const uint64_t text = proc->to_process(b.pclntab().text_start());  // PCs must be in the Go text
  const uint64_t pc1 = text + 0x100, pc2 = text + 0x200, pc3 = text + 0x300, pc4 = text + 0x400;

  // A goroutine parked in a select on two channels, with a two-frame stack.
  m.put(g(0, o.g_goid), 7);
  m.put32(g(0, o.g_atomicstatus), 4);
  m.put8(g(0, o.g_waitreason), 2);
  m.put(g(0, o.g_waiting), 0x30000);
  m.region(0x30000, 0x200);
  m.put(0x30000 + *o.sudog_c, 0xc1);
  m.put(0x30000 + *o.sudog_waitlink, 0x30100);
  m.put(0x30100 + *o.sudog_c, 0xc2);
  m.put(0x30100 + *o.sudog_waitlink, 0);
  if (o.sudog_is_select) {
    m.put8(0x30000 + *o.sudog_is_select, 1);
    m.put8(0x30100 + *o.sudog_is_select, 1);
  }
  m.put(g(0, o.g_stack_lo), 0x40000);
  m.put(g(0, o.g_stack_hi), 0x42000);
  m.region(0x40000, 0x2000);
  m.put(g(0, o.g_sched_sp), 0x41f00);
  m.put(g(0, o.g_sched_pc), pc1);
  m.put(g(0, o.g_sched_bp), 0x41f10);
  m.put(0x41f10, 0x41f40);
  m.put(0x41f18, pc2);
  m.put(0x41f40, 0);
  m.put(0x41f48, pc3);
  m.put(g(0, o.g_gopc), 0x404000);
  if (o.g_parent_goid) m.put(g(0, o.g_parent_goid), 1);
  if (o.g_waitsince) m.put(g(0, o.g_waitsince), 12345);

  m.put(g(1, o.g_goid), 8);  // dead: skipped
  m.put32(g(1, o.g_atomicstatus), 6);

  m.put(g(2, o.g_goid), 9);  // running (with the GC's scan bit): no stack
  m.put32(g(2, o.g_atomicstatus), 0x1002);

  m.put(g(3, o.g_goid), 10);  // runnable, saved sp outside its stack, and it changes while read
  m.put32(g(3, o.g_atomicstatus), 1);
  m.put(g(3, o.g_stack_lo), 0x50000);
  m.put(g(3, o.g_stack_hi), 0x52000);
  m.put(g(3, o.g_sched_sp), 0x60000);
  m.put(g(3, o.g_sched_pc), pc1);
  m.on_second_read(gs[3], [&] { m.put32(g(3, o.g_atomicstatus), 2); });

  // Parked on a semaphore: found in runtime.semtable's treap (root -> left child -> same-address list).
  m.put(g(4, o.g_goid), 11);
  m.put32(g(4, o.g_atomicstatus), 4);
  const auto semtable = b.elf().find_symbol("runtime.semtable");
  ASSERT_TRUE(semtable);
  m.region(proc->to_process(semtable->vaddr), semtable->size);
  m.put(proc->to_process(semtable->vaddr) + 3 * (semtable->size / 251) + 8, 0x31000);  // bucket 3's treap
  m.region(0x31000, 0x400);
  m.put(0x31000 + *o.sudog_g, 0x99000);  // a goroutine the snapshot does not have
  m.put(0x31000 + *o.sudog_elem, 0xdd0);
  m.put(0x31000 + *o.sudog_prev, 0x31100);
  m.put(0x31100 + *o.sudog_g, 0x99100);
  m.put(0x31100 + *o.sudog_elem, 0xabc4);
  m.put(0x31100 + *o.sudog_waitlink, 0x31200);
  m.put(0x31200 + *o.sudog_g, gs[4]);
  m.put(0x31200 + *o.sudog_elem, 0xabc4);
  m.put(0x31200 + *o.sudog_next, 0x31000);  // a cycle (torn read): must not loop

  // Parked with the same saved registers both times, but its stack was rewritten in between.
  m.put(g(5, o.g_goid), 12);
  m.put32(g(5, o.g_atomicstatus), 4);
  m.put(g(5, o.g_stack_lo), 0x60000);
  m.put(g(5, o.g_stack_hi), 0x62000);
  m.region(0x60000, 0x2000);
  m.put(g(5, o.g_sched_sp), 0x61f00);
  m.put(g(5, o.g_sched_pc), pc1);
  m.put(g(5, o.g_sched_bp), 0x61f10);
  m.put(0x61f18, pc2);
  m.on_second_read(0x61f00, [&] { m.put(0x61f18, pc4); });

  auto snap = read_snapshot(b, *proc, m);
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_EQ(snap->allglen, 6u);
  EXPECT_EQ(snap->dead_skipped, 1u);
  ASSERT_EQ(snap->goroutines.size(), 5u);

  const auto& a = snap->goroutines[0];
  EXPECT_EQ(a.goid, 7u);
  EXPECT_EQ(a.status, 4u);
  EXPECT_EQ(a.wait_reason, 2u);
  if (b.offsets().wait_reasons.size() > 2) {
    EXPECT_EQ(a.wait_reason_name, b.offsets().wait_reasons[2]);
  }
  ASSERT_EQ(a.waiting_on.size(), 2u);
  EXPECT_EQ(a.waiting_on[0].address, 0xc1u);
  EXPECT_EQ(a.waiting_on[1].address, 0xc2u);
  if (o.sudog_is_select) {
    EXPECT_TRUE(a.waiting_on[0].in_select && a.waiting_on[1].in_select);
  }
  EXPECT_EQ(a.stack, (std::vector<uint64_t>{pc1, pc2, pc3}));
  EXPECT_EQ(a.stack_state, StackState::kComplete);
  EXPECT_EQ(a.go_pc, 0x404000u);
  if (o.g_parent_goid) {
    EXPECT_EQ(a.parent_goid, std::optional<uint64_t>(1));
  }
  if (o.g_waitsince) {
    EXPECT_EQ(a.wait_since_ns, std::optional<int64_t>(12345));
  }
  EXPECT_FALSE(a.inconsistent);

  const auto& r = snap->goroutines[1];
  EXPECT_EQ(r.goid, 9u);
  EXPECT_EQ(r.status, 2u);
  EXPECT_TRUE(r.scan_bit);
  EXPECT_EQ(r.stack_state, StackState::kRunning);
  EXPECT_TRUE(r.stack.empty());

  const auto& t = snap->goroutines[2];
  EXPECT_EQ(t.goid, 10u);
  EXPECT_EQ(t.stack_state, StackState::kTorn);
  EXPECT_TRUE(t.inconsistent);
  EXPECT_NE(t.inconsistency.find("runnable -> running"), std::string::npos) << t.inconsistency;

  const auto& sm = snap->goroutines[3];
  EXPECT_EQ(sm.goid, 11u);
  ASSERT_EQ(sm.waiting_on.size(), 1u);
  EXPECT_EQ(sm.waiting_on[0].kind, model::WaitedObject::Kind::kSemaphore);
  EXPECT_EQ(sm.waiting_on[0].address, 0xabc4u);

  const auto& ch = snap->goroutines[4];
  EXPECT_EQ(ch.goid, 12u);
  EXPECT_EQ(ch.stack, (std::vector<uint64_t>{pc1, pc2}));
  EXPECT_TRUE(ch.inconsistent);
  EXPECT_EQ(ch.inconsistency, "its stack changed while being read");
}

TEST(SnapshotRead, UnreadableMemoryIsAnError) {
  GS_REQUIRE_TESTPROGS();
  const auto& tc = goscope::testing::toolchains().back();
  auto bin = sym::GoBinary::open(goscope::testing::testprog(tc.version, "default", "hello_probe"));
  ASSERT_TRUE(bin);
  auto proc = sym::ProcessImage::open(getpid());
  ASSERT_TRUE(proc);
  FakeMemory empty;
  auto snap = read_snapshot(**bin, *proc, empty);
  ASSERT_FALSE(snap);
  EXPECT_NE(snap.error().message.find("cannot read the memory"), std::string::npos) << snap.error().message;
}

TEST(SnapshotRead, RuntimeGlobalsAreFoundInStrippedBinariesFromCode) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : goscope::testing::toolchains()) {
    for (const char* variant : {"default", "pie", "noinline"}) {
      auto bin = sym::GoBinary::open(goscope::testing::testprog(tc.version, variant, "bug_chancycle"));
      ASSERT_TRUE(bin) << bin.error().message;
      const auto sym = (*bin)->elf().find_symbol("runtime.allgs");
      ASSERT_TRUE(sym) << tc.version << " " << variant;
      EXPECT_EQ(sym::allgs_from_code(**bin), std::optional<uint64_t>(sym->vaddr))
          << tc.version << " " << variant;
      const auto sema = (*bin)->elf().find_symbol("runtime.semtable");
      ASSERT_TRUE(sema);
      EXPECT_EQ(sema->size, 251u * 64u);
      EXPECT_EQ(sym::semtable_from_code(**bin), std::optional<uint64_t>(sema->vaddr))
          << tc.version << " " << variant;
    }
    for (const char* variant : {"stripped", "pie-stripped"}) {
      auto bin = sym::GoBinary::open(goscope::testing::testprog(tc.version, variant, "bug_chancycle"));
      ASSERT_TRUE(bin) << bin.error().message;
      const auto v = sym::find_runtime_variable(**bin, "runtime.allgs");
      ASSERT_TRUE(v) << tc.version << " " << variant;
      EXPECT_EQ(v->source, "code of runtime.allgadd");
      const auto t = sym::find_runtime_variable(**bin, "runtime.semtable");
      ASSERT_TRUE(t) << tc.version << " " << variant;
      EXPECT_EQ(t->source, "code of runtime.semrelease1");
    }
  }
}

}  // namespace
}  // namespace goscope::loader
