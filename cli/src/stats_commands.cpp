// hubstats stats get|recent|export|files|clients: one repository's statistics.
#include <memory>

#include "command_context.h"
#include "format.h"
#include "responses.h"
#include "validate.h"

namespace hubstats::cli {

namespace {

struct StatsArgs {
  std::string type, id;
  std::int64_t days = 30;
  std::string output = "-";
  bool csv = false;
  std::int64_t files_limit = 100;
};

}  // namespace

void add_stats_commands(CLI::App& app, Action& action) {
  // The options' storage: the subcommands' callbacks and actions outlive this call.
  auto a = std::make_shared<StatsArgs>();
  [[maybe_unused]] auto& [type, id, days, output, csv, files_limit] = *a;
  auto repo_args = [&](CLI::App* cmd) {
    cmd->add_option("type", type, "model, dataset or space")->required();
    cmd->add_option("id", id, "namespace/name")->required();
  };

  auto* stats = app.add_subcommand("stats", "Statistics of one repository");
  stats->require_subcommand(1);

  auto* get = stats->add_subcommand("get", "Total downloads and likes");
  repo_args(get);
  get->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, days, output, csv, files_limit] = *a;
      auto ref = parse_repo_arg(type, id);
      auto r = c.reader().repo_stats(ref);
      if (c.globals.json) return c.print_raw(r);
      c.out << format_repo_stats(ref, parse_repo_stats(r.json));
    };
  });

  auto* recent = stats->add_subcommand("recent", "Daily downloads with a sparkline");
  repo_args(recent);
  recent->add_option("--days", days, "Days to show, 1-365")->default_val(30);
  recent->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, days, output, csv, files_limit] = *a;
      auto ref = parse_repo_arg(type, id);
      check_range("--days", days, 1, kRecentDaysMax);
      auto r = c.reader().recent_stats(ref, days);
      if (c.globals.json) return c.print_raw(r);
      c.out << format_recent(ref, parse_recent_stats(r.json));
    };
  });

  auto* exp = stats->add_subcommand("export", "Daily downloads as CSV");
  repo_args(exp);
  exp->add_option("--days", days, "Days to export, 1-365")->default_val(30);
  exp->add_option("--output,-o", output, "File to write atomically ('-' = stdout)")
      ->default_val("-");
  exp->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, days, output, csv, files_limit] = *a;
      auto ref = parse_repo_arg(type, id);
      check_range("--days", days, 1, kRecentDaysMax);
      auto r = c.reader().recent_stats(ref, days);
      // --json exports the raw response instead of CSV.
      std::string content = c.globals.json ? r.raw : recent_csv(parse_recent_stats(r.json));
      if (c.globals.json && (content.empty() || content.back() != '\n')) content += '\n';
      write_output(output, content, c.out);
      if (output != "-") c.err << "wrote " << output << "\n";
    };
  });

  // Per-file and per-client counts: a table, --json (raw), or --csv (to -o, atomically).
  auto* files = stats->add_subcommand("files", "Files fetched, most first (bots excluded)");
  repo_args(files);
  files->add_option("--days", days, "Period in days, 1-365")->default_val(30);
  files->add_option("--limit", files_limit, "Entries, 1-1000")->default_val(100);
  files->add_flag("--csv", csv, "CSV (path,files) instead of a table");
  files->add_option("--output,-o", output, "File to write atomically ('-' = stdout)")
      ->default_val("-");
  files->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, days, output, csv, files_limit] = *a;
      auto ref = parse_repo_arg(type, id);
      check_range("--days", days, 1, kRecentDaysMax);
      check_range("--limit", files_limit, 1, kFilesLimitMax);
      auto r = c.reader().file_stats(ref, days, files_limit);
      emit(c, r, csv, output, [&] {
        auto s = parse_file_stats(r.json);
        return csv ? files_csv(s) : format_files(ref, s);
      });
    };
  });

  auto* clients = stats->add_subcommand("clients", "Downloads and files per client family");
  repo_args(clients);
  clients->add_option("--days", days, "Period in days, 1-365")->default_val(30);
  clients->add_flag("--csv", csv, "CSV (client,downloads,files) instead of a table");
  clients->add_option("--output,-o", output, "File to write atomically ('-' = stdout)")
      ->default_val("-");
  clients->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, days, output, csv, files_limit] = *a;
      auto ref = parse_repo_arg(type, id);
      check_range("--days", days, 1, kRecentDaysMax);
      auto r = c.reader().client_stats(ref, days);
      emit(c, r, csv, output, [&] {
        auto s = parse_client_stats(r.json);
        return csv ? clients_csv(s) : format_clients(ref, s);
      });
    };
  });
}

}  // namespace hubstats::cli
