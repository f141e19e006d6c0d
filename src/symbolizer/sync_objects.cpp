#include "symbolizer/sync_objects.h"

namespace goscope::sym {

namespace {

bool is_one_of(std::string_view f, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (f == n) return true;
  return false;
}

// Lock and Unlock paths of a Mutex (Go 1.24 moved them to internal/sync).
bool is_mutex_lock(std::string_view f) {
  return is_one_of(f, {"sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "internal/sync.(*Mutex).lockSlow",
                       "internal/sync.(*Mutex).Lock", "sync.(*Mutex).unlockSlow", "sync.(*Mutex).Unlock",
                       "internal/sync.(*Mutex).unlockSlow", "internal/sync.(*Mutex).Unlock"});
}

}  // namespace

std::optional<SyncObject> sync_object_of_semaphore(uint64_t semaphore,
                                                   std::span<const std::string_view> functions,
                                                   const GoOffsets& o) {
  for (size_t i = 0; i < functions.size(); i++) {
    const std::string_view f = functions[i];
    if (is_mutex_lock(f)) {
      if (!o.mutex_sema) return std::nullopt;
      const uint64_t mutex = semaphore - *o.mutex_sema;
      // RWMutex.Lock first takes its embedded writers' mutex `w`.
      for (size_t j = i + 1; j < functions.size(); j++) {
        if (is_mutex_lock(functions[j])) continue;
        if ((functions[j] == "sync.(*RWMutex).Lock" || functions[j] == "sync.(*RWMutex).Unlock") &&
            o.rwmutex_w)
          return SyncObject{"sync.RWMutex", mutex - *o.rwmutex_w, "writers' mutex"};
        break;
      }
      return SyncObject{"sync.Mutex", mutex, ""};
    }
    // Releases: RWMutex.Unlock wakes the readers; the last reader out wakes the writer.
    if (f == "sync.(*RWMutex).Unlock") {
      if (!o.rwmutex_reader_sem) return std::nullopt;
      return SyncObject{"sync.RWMutex", semaphore - *o.rwmutex_reader_sem, "read lock"};
    }
    if (f == "sync.(*RWMutex).rUnlockSlow") {
      if (!o.rwmutex_writer_sem) return std::nullopt;
      return SyncObject{"sync.RWMutex", semaphore - *o.rwmutex_writer_sem, "write lock"};
    }
    if (f == "sync.(*WaitGroup).Add") {
      if (!o.waitgroup_sema) return std::nullopt;
      return SyncObject{"sync.WaitGroup", semaphore - *o.waitgroup_sema, ""};
    }
    if (f == "sync.(*RWMutex).RLock") {
      if (!o.rwmutex_reader_sem) return std::nullopt;
      return SyncObject{"sync.RWMutex", semaphore - *o.rwmutex_reader_sem, "read lock"};
    }
    if (f == "sync.(*RWMutex).Lock") {  // waiting on writerSem for the readers to leave
      if (!o.rwmutex_writer_sem) return std::nullopt;
      return SyncObject{"sync.RWMutex", semaphore - *o.rwmutex_writer_sem, "write lock"};
    }
    if (f == "sync.(*WaitGroup).Wait") {
      if (!o.waitgroup_sema) return std::nullopt;
      return SyncObject{"sync.WaitGroup", semaphore - *o.waitgroup_sema, ""};
    }
  }
  return std::nullopt;
}

model::ObjectRef semaphore_object(uint64_t semaphore, std::span<const std::string_view> functions,
                                  const GoOffsets& offsets) {
  const auto owner = sync_object_of_semaphore(semaphore, functions, offsets);
  if (!owner) return {semaphore, model::ObjectKind::kSemaphore, 0};
  model::ObjectRef o{owner->address, model::ObjectKind::kSemaphore, 0};
  if (owner->type == "sync.Mutex") o.kind = model::ObjectKind::kMutex;
  if (owner->type == "sync.RWMutex") o.kind = model::ObjectKind::kRWMutex;
  if (owner->type == "sync.WaitGroup") o.kind = model::ObjectKind::kWaitGroup;
  if (owner->role == "read lock") o.flags = model::kReaderRole;
  if (owner->role == "write lock" || owner->role == "writers' mutex") o.flags = model::kWriterRole;
  return o;
}

}  // namespace goscope::sym
