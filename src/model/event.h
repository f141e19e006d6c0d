// goscope's one typed event stream: what the loader decodes from the ring
// buffer, what trace files store and replay, and what detect/ and output/
// consume. Nothing here knows whether an event is live or replayed.
//
// Addresses of code (pcs, stacks) are ELF virtual addresses of the traced
// executable (the load bias of a PIE is already removed), so they symbolize
// with the binary alone and mean the same in a trace file on another machine.
// Addresses of objects (channels, mutexes, ...) are the target's process
// addresses: they are identities, compared, printed as %p would.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace goscope::model {

enum class EventKind : uint8_t {
  kGoCreate,       // goroutine goid was created by other_goid (0: by the runtime); pc = the go statement
  kGoExit,         // goid exited
  kPark,           // goid blocked: wait_reason, objects
  kReady,          // goid (the waker, 0 for the runtime itself) made other_goid runnable
  kStatus,         // goid changed status (opt-in scheduler view): value = old << 32 | new
  kChanMake,       // object = the channel; value = capacity; value2 = element size
  kChanSend,       // object = channel; flags: kBlocking, kOk (sent); begin_ns when it started
  kChanRecv,       // object = channel; flags: kBlocking, kOk (selected), kReceived (got a value, not closed)
  kChanClose,      // object = channel
  kSelect,         // objects = cases (sends first); value = chosen case or -1; flags kBlocking, kReceived
  kSyncBlock,      // goid waits on a sync object (object, object_kind, role): from the semaphore slow path
  kSyncRelease,    // goid released a semaphore others wait on (object, object_kind)
  kMutexLock,      // goid acquired object (a mutex); flags kContended with begin_ns when it had to wait
  kMutexUnlock,    // goid released object
  kRLock,          // goid took a read lock on object (an RWMutex)
  kRUnlock,        // goid released a read lock
  kWaitGroupWait,  // goid called WaitGroup.Wait on object
  kCondWait,       // goid waits on the sync.Cond at object
  kCondSignal,     // goid signalled object (value 1: Signal, value 0: Broadcast)
  kStopTheWorld,   // a stop-the-world pause began (value = reason code)
  kStartTheWorld,  // it ended
  kCpuSample,      // a CPU sampling tick found goid running on tid: stack = its user stack (frame 0 the
                   // sampled pc), value = CPU time one sample stands for (ns), value2 = the CPU;
                   // flags kInKernel when it interrupted a system call, kSystemStack on g0 (goid = m.curg's)
  kCount_,
};
const char* event_kind_name(EventKind k);  // "go-create", "park", ...

// What a synchronisation object is.
enum class ObjectKind : uint8_t {
  kNone,
  kChannel,
  kMutex,
  kRWMutex,
  kWaitGroup,
  kCond,
  kSemaphore,  // a runtime semaphore goscope could not attribute
  kNetwork,    // a netpoll descriptor (IO wait)
  kTimer,      // sleep, timers
  kOther,      // whatever gopark's lock pointed to
};
const char* object_kind_name(ObjectKind k);

enum EventFlags : uint16_t {
  kBlocking = 1 << 0,     // a channel op / select that may block (not select-with-default)
  kOk = 1 << 1,           // the op completed (send done, receive selected)
  kReceived = 1 << 2,     // a receive got a value (false: the channel was closed)
  kContended = 1 << 3,    // a lock that had to wait
  kSystemStack = 1 << 4,  // recorded on the system stack (the goroutine is m.curg)
  kStackCut = 1 << 5,     // the stack is incomplete
  kDataFault = 1 << 6,    // some field could not be read from the target
  kMoreObjects = 1 << 7,  // more select cases / waited objects than recorded
  kRecvCase = 1 << 8,     // per select case (ObjectRef.flags): a receive case
  kInSelect = 1 << 9,     // per waited object: one case of a select
  kReaderRole = 1 << 10,  // kSyncBlock on an RWMutex: waiting to read
  kWriterRole = 1 << 11,  // kSyncBlock on an RWMutex: waiting to write
  kInKernel = 1 << 12,    // kCpuSample: the thread was in the kernel (a system call, a fault)
};

struct ObjectRef {
  uint64_t address = 0;
  ObjectKind kind = ObjectKind::kNone;
  uint16_t flags = 0;  // kRecvCase, kInSelect
};

using StackId = uint32_t;  // 0: no stack

struct Event {
  EventKind kind = EventKind::kGoExit;
  uint16_t flags = 0;
  uint32_t tid = 0;
  int64_t time_ns = 0;      // CLOCK_MONOTONIC
  int64_t begin_ns = 0;     // when a two-part operation started (blocking ops, contended locks), else 0
  uint64_t goid = 0;        // the goroutine doing it; 0 when unknown or the runtime itself
  uint64_t other_goid = 0;  // kGoCreate: the parent; kReady: the goroutine made runnable
  uint64_t object = 0;      // the object acted on (channel, mutex, ...)
  ObjectKind object_kind = ObjectKind::kNone;
  uint32_t wait_reason = 0;  // kPark: the runtime's waitReason number (names: StreamInfo::wait_reasons)
  int64_t value = 0;         // see EventKind
  int64_t value2 = 0;
  uint64_t pc = 0;                 // kGoCreate: the `go` statement (gopc); kChanMake etc.: the call site
  uint64_t start_pc = 0;           // kGoCreate: the goroutine's function
  StackId stack = 0;               // where it happened, innermost first
  std::vector<ObjectRef> objects;  // kPark: every object waited on; kSelect: the cases
};

// Interns stacks: equal stacks get the same id, ids are dense from 1.
class StackTable {
 public:
  StackId intern(std::span<const uint64_t> pcs);
  std::span<const uint64_t> get(StackId id) const;
  size_t size() const { return stacks_.size(); }

 private:
  struct Hash {
    size_t operator()(const std::vector<uint64_t>& v) const noexcept;
  };
  std::vector<std::vector<uint64_t>> stacks_;
  std::unordered_map<std::vector<uint64_t>, StackId, Hash> ids_;
};

// What a consumer of events gets besides the events: the tables they refer to.
struct StreamInfo {
  std::vector<std::string> wait_reasons;  // index = waitReason number
  const StackTable* stacks = nullptr;
  std::string_view wait_reason_name(uint32_t r) const {
    return r < wait_reasons.size() ? std::string_view(wait_reasons[r]) : std::string_view();
  }
};

using EventSink = std::function<void(const Event&)>;

}  // namespace goscope::model
