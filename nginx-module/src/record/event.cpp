#include "record/event.h"

namespace hubstats::module {

void set_client(Event& e, ClientFamily family, bool bots_apart) noexcept {
  e.family = static_cast<char>('a' + static_cast<int>(family));
  e.bot = family == ClientFamily::kBot && bots_apart;
}

}  // namespace hubstats::module
