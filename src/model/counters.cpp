#include "model/counters.h"

namespace goscope::model {

const char* counter_state_name(CounterState s) {
  switch (s) {
    case CounterState::kCounted:
      return "counted";
    case CounterState::kNotCounted:
      return "not counted";
    case CounterState::kNotSupported:
      return "not supported";
  }
  return "?";
}

double CounterValue::scaled() const {
  if (state != CounterState::kCounted || running_ns == 0) return 0;
  if (enabled_ns <= running_ns) return static_cast<double>(raw);
  return static_cast<double>(raw) * static_cast<double>(enabled_ns) / static_cast<double>(running_ns);
}

double CounterValue::fraction() const {
  if (state != CounterState::kCounted || running_ns == 0) return 0;
  if (enabled_ns <= running_ns) return 1;
  return static_cast<double>(running_ns) / static_cast<double>(enabled_ns);
}

CounterValue& CounterValue::operator+=(const CounterValue& o) {
  raw += o.raw;
  enabled_ns += o.enabled_ns;
  running_ns += o.running_ns;
  if (state == CounterState::kCounted || o.state == CounterState::kCounted)
    state = CounterState::kCounted;
  else if (state == CounterState::kNotSupported && o.state == CounterState::kNotSupported)
    state = CounterState::kNotSupported;
  else
    state = CounterState::kNotCounted;
  return *this;
}

}  // namespace goscope::model
