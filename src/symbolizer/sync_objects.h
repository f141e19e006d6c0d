// Which sync object owns a semaphore a goroutine sleeps on. The runtime only
// knows the semaphore's address (&m.sema); the goroutine's stack says which
// sync function parked it, and the struct offsets turn the semaphore back
// into the Mutex / RWMutex / WaitGroup that contains it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "model/event.h"
#include "symbolizer/go_offsets.h"

namespace goscope::sym {

struct SyncObject {
  std::string type;      // "sync.Mutex", "sync.RWMutex", "sync.WaitGroup"
  uint64_t address = 0;  // of the object itself (what %p prints in the program)
  std::string role;      // for an RWMutex: "read lock", "write lock" or "writers' mutex"; else ""
};

// `functions`: the goroutine's frames, innermost first (inlined frames included).
// nullopt when the stack shows no known sync function or an offset is missing.
std::optional<SyncObject> sync_object_of_semaphore(uint64_t semaphore,
                                                   std::span<const std::string_view> functions,
                                                   const GoOffsets& offsets);

// The semaphore as goscope's events and state name it: the sync object that contains
// it (kind, address, kReaderRole / kWriterRole for an RWMutex), or the bare semaphore.
model::ObjectRef semaphore_object(uint64_t semaphore, std::span<const std::string_view> functions,
                                  const GoOffsets& offsets);

}  // namespace goscope::sym
