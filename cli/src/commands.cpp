#include "commands.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "api_client.h"
#include "exit_codes.h"
#include "format.h"
#include "http_client.h"
#include "output.h"
#include "responses.h"
#include "url.h"
#include "validate.h"

#ifndef HUBSTATS_VERSION
#define HUBSTATS_VERSION "dev"
#endif

namespace hubstats::cli {
namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:28080";

struct Globals {
  std::string url = kDefaultUrl;
  std::string token;
  std::string admin_token_file;
  std::string ca_file;
  double timeout = 10.0;
  bool json = false;
};

// Everything a command needs once arguments are parsed.
struct Context {
  const Globals& globals;
  const CLI::App& app;
  const std::map<std::string, std::string>& env;
  std::ostream& out;
  std::ostream& err;

  std::string env_or(const char* name, const std::string& fallback = "") const {
    auto it = env.find(name);
    return it == env.end() ? fallback : it->second;
  }

  BaseUrl base_url() const {
    bool given = app.get_option("--url")->count() > 0;
    return parse_base_url(given ? globals.url : env_or("HUBSTATS_URL", kDefaultUrl));
  }

  HttpOptions http_options() const {
    if (!(globals.timeout > 0) || !std::isfinite(globals.timeout) || globals.timeout > 86400) {
      throw CliError(ExitCode::kBadArgument, "--timeout must be between 0 and 86400 seconds");
    }
    HttpOptions o;
    o.timeout = std::chrono::milliseconds(
        std::max<std::int64_t>(1, std::llround(globals.timeout * 1000.0)));
    o.ca_file = globals.ca_file;
    return o;
  }

  // Readers: --token, else HUBSTATS_TOKEN.
  std::optional<std::string> read_token() const {
    if (!globals.token.empty()) return globals.token;
    auto t = env_or("HUBSTATS_TOKEN");
    if (!t.empty()) return t;
    return std::nullopt;
  }

  // Admin: --admin-token-file, else --token, else HUBSTATS_ADMIN_TOKEN, else HUBSTATS_TOKEN.
  std::optional<std::string> admin_token() const {
    if (!globals.admin_token_file.empty()) return read_token_file(globals.admin_token_file);
    if (!globals.token.empty()) return globals.token;
    for (const char* name : {"HUBSTATS_ADMIN_TOKEN", "HUBSTATS_TOKEN"}) {
      auto t = env_or(name);
      if (!t.empty()) return t;
    }
    throw CliError(ExitCode::kAuth,
                   "admin commands need the admin token: --admin-token-file, --token or "
                   "HUBSTATS_ADMIN_TOKEN");
  }

  static std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
      throw CliError(ExitCode::kBadArgument, "cannot read --admin-token-file '" + path + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    auto first = t.find_first_not_of(" \t\r\n");
    auto last = t.find_last_not_of(" \t\r\n");
    if (first == std::string::npos) {
      throw CliError(ExitCode::kBadArgument, "--admin-token-file '" + path + "' is empty");
    }
    return t.substr(first, last - first + 1);
  }

  ApiClient reader() const {
    return ApiClient(HttpClient(base_url(), http_options()), read_token());
  }
  ApiClient admin() const {
    auto token = admin_token();
    return ApiClient(HttpClient(base_url(), http_options()), token);
  }

  // --json: the server's body exactly, newline-terminated.
  void print_raw(const ApiResult& r) const {
    out << r.raw;
    if (r.raw.empty() || r.raw.back() != '\n') out << '\n';
  }
};

// Prints a breakdown: --json the raw response, else render() (a table or CSV), to
// stdout or, with -o, atomically to a file.
template <class Render>
void emit(const Context& c, const ApiResult& r, bool csv, const std::string& output,
          Render render) {
  std::string content = c.globals.json ? r.raw : render();
  if (content.empty() || content.back() != '\n') content += '\n';
  if (!csv && !c.globals.json && output == "-") {
    c.out << content;
    return;
  }
  write_output(output, content, c.out);
  if (output != "-") c.err << "wrote " << output << "\n";
}

bool parse_bool_arg(const std::string& s) {
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  throw CliError(ExitCode::kBadArgument, "invalid value '" + s + "' (expected true or false)");
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key)) {
    const auto& v = j[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  return "";
}

std::string json_flag(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>() ? "yes"
                                                                                       : "no";
}

const std::string kHelpFooter = std::string("\nEnvironment: HUBSTATS_URL, HUBSTATS_TOKEN, ") +
                                "HUBSTATS_ADMIN_TOKEN (admin commands).\n" + exit_codes_help();

// One line, without the newlines some CLI11 messages carry.
std::string flatten(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

int run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
        std::ostream& out, std::ostream& err) {
  CLI::App app{"hubstats: download statistics of a model hub, from the hubstats API", "hubstats"};
  app.fallthrough();  // global options are accepted after the subcommand too
  app.require_subcommand(1);
  app.footer(kHelpFooter);
  app.set_version_flag("--version", std::string("hubstats ") + HUBSTATS_VERSION);

  Globals g;
  app.add_option("--url", g.url, "API base URL (env HUBSTATS_URL)")->default_str(kDefaultUrl);
  app.add_option("--token", g.token,
                 "Bearer token (env HUBSTATS_TOKEN); for admin commands, the admin token");
  app.add_option("--admin-token-file", g.admin_token_file,
                 "File holding the admin token (admin commands)");
  app.add_option("--timeout", g.timeout, "Seconds for the whole request")->default_val(10.0);
  app.add_option("--cacert", g.ca_file, "Extra CA certificates (PEM) for https URLs");
  app.add_flag("--json", g.json, "Print the server's raw JSON response");

  std::function<void(const Context&)> action;

  // Arguments shared by the stats commands.
  std::string type, id;
  std::int64_t days = 30;
  auto repo_args = [&](CLI::App* cmd) {
    cmd->add_option("type", type, "model, dataset or space")->required();
    cmd->add_option("id", id, "namespace/name")->required();
  };

  auto* stats = app.add_subcommand("stats", "Statistics of one repository");
  stats->require_subcommand(1);

  auto* get = stats->add_subcommand("get", "Total downloads and likes");
  repo_args(get);
  get->callback([&] {
    action = [&](const Context& c) {
      auto ref = parse_repo_arg(type, id);
      auto r = c.reader().repo_stats(ref);
      if (c.globals.json) return c.print_raw(r);
      c.out << format_repo_stats(ref, parse_repo_stats(r.json));
    };
  });

  auto* recent = stats->add_subcommand("recent", "Daily downloads with a sparkline");
  repo_args(recent);
  recent->add_option("--days", days, "Days to show, 1-365")->default_val(30);
  recent->callback([&] {
    action = [&](const Context& c) {
      auto ref = parse_repo_arg(type, id);
      check_range("--days", days, 1, kRecentDaysMax);
      auto r = c.reader().recent_stats(ref, days);
      if (c.globals.json) return c.print_raw(r);
      c.out << format_recent(ref, parse_recent_stats(r.json));
    };
  });

  std::string output = "-";
  auto* exp = stats->add_subcommand("export", "Daily downloads as CSV");
  repo_args(exp);
  exp->add_option("--days", days, "Days to export, 1-365")->default_val(30);
  exp->add_option("--output,-o", output, "File to write atomically ('-' = stdout)")
      ->default_val("-");
  exp->callback([&] {
    action = [&](const Context& c) {
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
  bool csv = false;
  std::int64_t files_limit = 100;
  auto* files = stats->add_subcommand("files", "Files fetched, most first (bots excluded)");
  repo_args(files);
  files->add_option("--days", days, "Period in days, 1-365")->default_val(30);
  files->add_option("--limit", files_limit, "Entries, 1-1000")->default_val(100);
  files->add_flag("--csv", csv, "CSV (path,files) instead of a table");
  files->add_option("--output,-o", output, "File to write atomically ('-' = stdout)")
      ->default_val("-");
  files->callback([&] {
    action = [&](const Context& c) {
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
  clients->callback([&] {
    action = [&](const Context& c) {
      auto ref = parse_repo_arg(type, id);
      check_range("--days", days, 1, kRecentDaysMax);
      auto r = c.reader().client_stats(ref, days);
      emit(c, r, csv, output, [&] {
        auto s = parse_client_stats(r.json);
        return csv ? clients_csv(s) : format_clients(ref, s);
      });
    };
  });

  std::string trend_type = "model";
  std::int64_t trend_days = 7, limit = 20;
  auto* trending = app.add_subcommand("trending", "Repositories ranked by recent downloads");
  trending->add_option("--type", trend_type, "model, dataset or space")->default_val("model");
  trending->add_option("--days", trend_days, "Period in days, 1-90")->default_val(7);
  trending->add_option("--limit", limit, "Entries, 1-100")->default_val(20);
  trending->callback([&] {
    action = [&](const Context& c) {
      auto t = parse_type_arg(trend_type);
      check_range("--days", trend_days, 1, kTrendingDaysMax);
      check_range("--limit", limit, 1, kTrendingLimitMax);
      auto r = c.reader().trending(t, trend_days, limit);
      if (c.globals.json) return c.print_raw(r);
      c.out << format_trending(t, parse_trending(r.json));
    };
  });

  // ---- admin (builtin catalog) ----
  auto* admin = app.add_subcommand("admin", "Manage the builtin catalog (needs the admin token)");
  admin->require_subcommand(1);

  auto* repo = admin->add_subcommand("repo", "Repositories");
  repo->require_subcommand(1);
  bool make_private = false;
  auto* repo_add = repo->add_subcommand("add", "Register a repository");
  repo_args(repo_add);
  repo_add->add_flag("--private", make_private, "Register it as private");
  repo_add->callback([&] {
    action = [&](const Context& c) {
      auto ref = parse_repo_arg(type, id);
      auto r = c.admin().add_repo(ref, make_private);
      if (c.globals.json) return c.print_raw(r);
      c.out << "added " << to_string(ref.type) << " " << ref.id()
            << (make_private ? " (private)" : " (public)") << "\n";
    };
  });
  auto* repo_rm = repo->add_subcommand("remove", "Delete a repository and its likes");
  repo_args(repo_rm);
  repo_rm->callback([&] {
    action = [&](const Context& c) {
      auto ref = parse_repo_arg(type, id);
      auto r = c.admin().remove_repo(ref);
      if (c.globals.json) return c.print_raw(r);
      c.out << "removed " << to_string(ref.type) << " " << ref.id() << "\n";
    };
  });
  std::string private_value = "true";
  auto* repo_priv = repo->add_subcommand("set-private", "Make a repository private or public");
  repo_args(repo_priv);
  repo_priv->add_option("value", private_value, "true (default) or false")->default_val("true");
  repo_priv->callback([&] {
    action = [&](const Context& c) {
      auto ref = parse_repo_arg(type, id);
      bool p = parse_bool_arg(private_value);
      auto r = c.admin().set_private(ref, p);
      if (c.globals.json) return c.print_raw(r);
      c.out << to_string(ref.type) << " " << ref.id() << " is now " << (p ? "private" : "public")
            << "\n";
    };
  });
  auto* repo_list = repo->add_subcommand("list", "List registered repositories");
  repo_list->callback([&] {
    action = [&](const Context& c) {
      auto r = c.admin().list_repos();
      if (c.globals.json) return c.print_raw(r);
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r.json) {
        rows.push_back({json_string(e, "type"),
                        json_string(e, "namespace") + "/" + json_string(e, "name"),
                        json_flag(e, "private"), json_string(e, "likes")});
      }
      c.out << render_table({"type", "repository", "private", "likes"}, rows,
                            {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight});
    };
  });

  std::string username, fullname, org, token_name;
  auto* user = admin->add_subcommand("user", "Users");
  user->require_subcommand(1);
  auto* user_add = user->add_subcommand("add", "Create a user");
  user_add->add_option("username", username, "User name")->required();
  user_add->add_option("--fullname", fullname, "Display name");
  user_add->callback([&] {
    action = [&](const Context& c) {
      auto name = parse_name_arg("user name", username);
      auto r = c.admin().add_user(name, fullname);
      if (c.globals.json) return c.print_raw(r);
      c.out << "added user " << name << "\n";
    };
  });
  auto* user_list = user->add_subcommand("list", "List users");
  user_list->callback([&] {
    action = [&](const Context& c) {
      auto r = c.admin().list_users();
      if (c.globals.json) return c.print_raw(r);
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r.json)
        rows.push_back({json_string(e, "username"), json_string(e, "fullname")});
      c.out << render_table({"username", "fullname"}, rows, {});
    };
  });

  auto* orgc = admin->add_subcommand("org", "Organization membership");
  orgc->require_subcommand(1);
  auto* add_member = orgc->add_subcommand("add-member", "Add a user to an organization");
  add_member->add_option("org", org, "Organization (created if missing)")->required();
  add_member->add_option("username", username, "User name")->required();
  add_member->callback([&] {
    action = [&](const Context& c) {
      auto o = parse_name_arg("organization", org);
      auto u = parse_name_arg("user name", username);
      auto r = c.admin().add_member(o, u);
      if (c.globals.json) return c.print_raw(r);
      bool added = r.json.is_object() && r.json.value("added", true);
      c.out << (added ? "added " + u + " to " + o : u + " is already a member of " + o) << "\n";
    };
  });
  auto* rm_member = orgc->add_subcommand("remove-member", "Remove a user from an organization");
  rm_member->add_option("org", org, "Organization")->required();
  rm_member->add_option("username", username, "User name")->required();
  rm_member->callback([&] {
    action = [&](const Context& c) {
      auto o = parse_name_arg("organization", org);
      auto u = parse_name_arg("user name", username);
      auto r = c.admin().remove_member(o, u);
      if (c.globals.json) return c.print_raw(r);
      c.out << "removed " << u << " from " << o << "\n";
    };
  });
  auto* members = orgc->add_subcommand("members", "List an organization's members");
  members->add_option("org", org, "Organization")->required();
  members->callback([&] {
    action = [&](const Context& c) {
      auto o = parse_name_arg("organization", org);
      auto r = c.admin().list_members(o);
      if (c.globals.json) return c.print_raw(r);
      for (const auto& m : r.json)
        c.out << (m.is_string() ? m.get<std::string>() : m.dump()) << "\n";
    };
  });

  std::int64_t token_id = 0;
  auto* tok = admin->add_subcommand("token", "API tokens");
  tok->require_subcommand(1);
  auto* tok_create = tok->add_subcommand(
      "create", "Create a token for a user; prints it once on stdout (details on stderr)");
  tok_create->add_option("username", username, "User name")->required();
  tok_create->add_option("--name", token_name, "A label for the token");
  tok_create->callback([&] {
    action = [&](const Context& c) {
      auto u = parse_name_arg("user name", username);
      auto r = c.admin().create_token(u, token_name);
      if (c.globals.json) return c.print_raw(r);
      std::string secret = json_string(r.json, "token");
      if (secret.empty()) {
        throw CliError(ExitCode::kHttpError, "unexpected response from server: missing 'token'");
      }
      c.out << secret << "\n";
      c.err << "created token " << json_string(r.json, "id") << " for " << u
            << "; it is shown only this once\n";
    };
  });
  auto* tok_revoke = tok->add_subcommand("revoke", "Revoke a token by id");
  tok_revoke->add_option("id", token_id, "Token id (from create or list)")->required();
  tok_revoke->callback([&] {
    action = [&](const Context& c) {
      check_range("token id", token_id, 1, INT64_MAX);
      auto r = c.admin().revoke_token(token_id);
      if (c.globals.json) return c.print_raw(r);
      c.out << "revoked token " << token_id << "\n";
    };
  });
  std::string list_user;
  auto* tok_list = tok->add_subcommand("list", "List tokens (never their values)");
  tok_list->add_option("--username", list_user, "Only this user's tokens");
  tok_list->callback([&] {
    action = [&](const Context& c) {
      std::optional<std::string> u;
      if (!list_user.empty()) u = parse_name_arg("user name", list_user);
      auto r = c.admin().list_tokens(u);
      if (c.globals.json) return c.print_raw(r);
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r.json) {
        rows.push_back({json_string(e, "id"), json_string(e, "username"), json_string(e, "name"),
                        json_string(e, "created_at"), json_flag(e, "revoked")});
      }
      c.out << render_table({"id", "username", "name", "created", "revoked"}, rows,
                            {Align::kRight});
    };
  });

  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion&) {
    out << "hubstats " << HUBSTATS_VERSION << "\n";
    return static_cast<int>(ExitCode::kOk);
  } catch (const CLI::ParseError& e) {
    err << "hubstats: " << flatten(e.what()) << " (see hubstats --help)\n";
    return static_cast<int>(ExitCode::kBadArgument);
  } catch (const CliError& e) {
    err << "hubstats: " << flatten(e.what()) << "\n";
    return static_cast<int>(e.code());
  }

  try {
    if (!action) throw CliError(ExitCode::kBadArgument, "no command given (see hubstats --help)");
    Context ctx{g, app, env, out, err};
    action(ctx);
    out.flush();
    return static_cast<int>(ExitCode::kOk);
  } catch (const CliError& e) {
    err << "hubstats: " << flatten(e.what()) << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    err << "hubstats: " << flatten(e.what()) << "\n";
    return static_cast<int>(ExitCode::kHttpError);
  }
}

}  // namespace hubstats::cli
