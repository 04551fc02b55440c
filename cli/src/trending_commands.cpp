// hubstats trending: repositories ranked by recent downloads.
#include <memory>

#include "command_context.h"
#include "format.h"
#include "responses.h"
#include "validate.h"

namespace hubstats::cli {

namespace {

struct TrendingArgs {
  std::string type = "model";
  std::int64_t days = 7, limit = 20;
};

}  // namespace

void add_trending_commands(CLI::App& app, Action& action) {
  auto a = std::make_shared<TrendingArgs>();
  [[maybe_unused]] auto& [trend_type, trend_days, limit] = *a;
  auto* trending = app.add_subcommand("trending", "Repositories ranked by recent downloads");
  trending->add_option("--type", trend_type, "model, dataset or space")->default_val("model");
  trending->add_option("--days", trend_days, "Period in days, 1-90")->default_val(7);
  trending->add_option("--limit", limit, "Entries, 1-100")->default_val(20);
  trending->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [trend_type, trend_days, limit] = *a;
      auto t = parse_type_arg(trend_type);
      check_range("--days", trend_days, 1, kTrendingDaysMax);
      check_range("--limit", limit, 1, kTrendingLimitMax);
      auto r = c.reader().trending(t, trend_days, limit);
      if (c.globals.json) return c.print_raw(r);
      c.out << format_trending(t, parse_trending(r.json));
    };
  });
}

}  // namespace hubstats::cli
