#include "symbolizer/sync_objects.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace goscope::sym {
namespace {

GoOffsets layout() {
  GoOffsets o;
  o.mutex_sema = 4;
  o.rwmutex_w = 0;
  o.rwmutex_writer_sem = 8;
  o.rwmutex_reader_sem = 12;
  o.waitgroup_sema = 8;
  return o;
}

std::optional<SyncObject> owner(uint64_t sema, std::vector<std::string_view> fns,
                                const GoOffsets& o = layout()) {
  return sync_object_of_semaphore(sema, fns, o);
}

TEST(SymbolizerSyncObjects, MutexBeforeAndAfterInternalSync) {
  auto a = owner(0x1004, {"runtime.semacquire1", "sync.runtime_SemacquireMutex", "sync.(*Mutex).lockSlow",
                          "sync.(*Mutex).Lock", "main.transfer"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, "sync.Mutex");
  EXPECT_EQ(a->address, 0x1000u);
  auto b = owner(0x2004, {"internal/sync.runtime_SemacquireMutex", "internal/sync.(*Mutex).lockSlow",
                          "internal/sync.(*Mutex).Lock", "sync.(*Mutex).Lock", "main.f"});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, "sync.Mutex");
  EXPECT_EQ(b->address, 0x2000u);
}

TEST(SymbolizerSyncObjects, RWMutexRoles) {
  auto r = owner(0x300c, {"sync.runtime_SemacquireRWMutexR", "sync.(*RWMutex).RLock", "main.reader"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, "sync.RWMutex");
  EXPECT_EQ(r->address, 0x3000u);
  EXPECT_EQ(r->role, "read lock");
  auto w = owner(0x3008, {"sync.runtime_SemacquireRWMutex", "sync.(*RWMutex).Lock", "main.writer"});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->address, 0x3000u);
  EXPECT_EQ(w->role, "write lock");
  // A second writer queues on the embedded writers' mutex w (at offset 0 here).
  auto q =
      owner(0x3004, {"sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "sync.(*RWMutex).Lock", "main.writer"});
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type, "sync.RWMutex");
  EXPECT_EQ(q->address, 0x3000u);
  EXPECT_EQ(q->role, "writers' mutex");
}

TEST(SymbolizerSyncObjects, WaitGroup) {
  auto g = owner(0x4008, {"sync.runtime_Semacquire", "sync.(*WaitGroup).Wait", "main.main"});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->type, "sync.WaitGroup");
  EXPECT_EQ(g->address, 0x4000u);
}

TEST(SymbolizerSyncObjects, UnknownStackOrMissingOffset) {
  EXPECT_FALSE(owner(0x5000, {"runtime.semacquire1", "main.customSemaphore"}));
  EXPECT_FALSE(owner(0x5000, {}));
  GoOffsets none;
  EXPECT_FALSE(owner(0x1004, {"sync.(*Mutex).lockSlow"}, none));
}

}  // namespace
}  // namespace goscope::sym
