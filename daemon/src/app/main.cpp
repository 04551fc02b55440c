// hubstatsd: folds the nginx module's Redis counters into PostgreSQL and serves the
// Statistics API.
//   hubstatsd -c FILE                 run
//   hubstatsd --check-config FILE     validate a config file; exit 0 or 1
//   hubstatsd migrate -c FILE         apply the schema migrations and exit
//   hubstatsd fold --once -c FILE     run one background fold pass and exit
//   hubstatsd import kohakuhub -c FILE [--dry-run] [--cutover DAY] [--dsn DSN] [--schema S]
//                                     copy a KohakuHub's download history (docs/kohakuhub.md)
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App cli{"hubstatsd: download statistics daemon for hubstats"};
  cli.set_version_flag("--version", std::string("hubstatsd ") + HUBSTATS_VERSION);
  std::string config_path = "/etc/hubstats/hubstatsd.yaml";
  std::string check_path;
  cli.add_option("-c,--config", config_path, "config file")->capture_default_str();
  cli.add_option("--check-config", check_path, "validate FILE and exit (0: valid, 1: invalid)");

  CLI::App* migrate = cli.add_subcommand("migrate", "apply schema migrations and exit");
  migrate->add_option("-c,--config", config_path, "config file");
  CLI::App* fold = cli.add_subcommand("fold", "fold Redis counters into PostgreSQL");
  bool once = false;
  fold->add_flag("--once", once, "run one pass and exit")->required();
  fold->add_option("-c,--config", config_path, "config file");

  CLI::App* import = cli.add_subcommand("import", "import download history from a hub");
  import->require_subcommand(1);
  CLI::App* kohakuhub = import->add_subcommand("kohakuhub",
                                               "KohakuHub's dailyrepostats and "
                                               "repository.downloads");
  hubstatsd::app::ImportArgs import_args;
  kohakuhub->add_option("-c,--config", config_path, "config file");
  kohakuhub->add_flag("--dry-run", import_args.dry_run,
                      "print what would be written; write nothing");
  kohakuhub->add_option("--cutover", import_args.cutover,
                        "first day counted by hubstats (YYYY-MM-DD; first import only)");
  kohakuhub->add_option("--dsn", import_args.dsn, "hub database (default: catalog.kohakuhub.dsn)");
  kohakuhub->add_option("--schema", import_args.schema,
                        "hub schema (default: catalog.kohakuhub.schema)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (!check_path.empty()) return hubstatsd::app::check_config(check_path);
  if (*migrate) return hubstatsd::app::migrate(config_path);
  if (*fold) return hubstatsd::app::fold_once(config_path);
  if (*kohakuhub) return hubstatsd::app::import_kohakuhub(config_path, import_args);
  return hubstatsd::app::run(config_path);
}
