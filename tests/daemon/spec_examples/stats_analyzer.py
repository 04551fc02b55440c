import requests
from datetime import datetime, timedelta

BASE_URL = "http://localhost:28080"
TOKEN = "YOUR_TOKEN"

headers = {"Authorization": f"Bearer {TOKEN}"}


class StatsAnalyzer:
    def __init__(self, base_url: str, token: str = None):
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get_repo_stats(self, repo_type: str, namespace: str, name: str):
        """Get basic repository statistics."""
        response = requests.get(
            f"{self.base_url}/{repo_type}s/{namespace}/{name}/stats",
            headers=self.headers
        )
        response.raise_for_status()
        return response.json()

    def get_recent_stats(self, repo_type: str, namespace: str, name: str, days: int = 30):
        """Get recent daily statistics."""
        response = requests.get(
            f"{self.base_url}/{repo_type}s/{namespace}/{name}/stats/recent",
            params={"days": days},
            headers=self.headers
        )
        response.raise_for_status()
        return response.json()

    def get_trending(self, repo_type: str = "model", days: int = 7, limit: int = 20):
        """Get trending repositories."""
        response = requests.get(
            f"{self.base_url}/api/trending",
            params={
                "repo_type": repo_type,
                "days": days,
                "limit": limit
            },
            headers=self.headers
        )
        response.raise_for_status()
        return response.json()

    def analyze_growth(self, repo_type: str, namespace: str, name: str, days: int = 30):
        """Analyze repository growth trends."""
        data = self.get_recent_stats(repo_type, namespace, name, days)
        stats = data["stats"]

        if not stats:
            return None

        # Calculate growth metrics
        first_day = stats[0]["downloads"]
        last_day = stats[-1]["downloads"]
        total = sum(s["downloads"] for s in stats)
        avg_daily = total / len(stats)

        # Calculate week-over-week growth
        mid_point = len(stats) // 2
        first_half = sum(s["downloads"] for s in stats[:mid_point])
        second_half = sum(s["downloads"] for s in stats[mid_point:])
        growth_rate = ((second_half - first_half) / first_half * 100) if first_half > 0 else 0

        return {
            "total_downloads": total,
            "avg_daily_downloads": avg_daily,
            "growth_rate_percent": growth_rate,
            "first_day": first_day,
            "last_day": last_day,
            "trend": "up" if last_day > first_day else "down" if last_day < first_day else "stable"
        }

    def compare_auth_vs_anon(self, repo_type: str, namespace: str, name: str, days: int = 30):
        """Compare authenticated vs anonymous downloads."""
        data = self.get_recent_stats(repo_type, namespace, name, days)
        stats = data["stats"]

        total_auth = sum(s["authenticated"] for s in stats)
        total_anon = sum(s["anonymous"] for s in stats)
        total = total_auth + total_anon

        return {
            "authenticated": total_auth,
            "anonymous": total_anon,
            "authenticated_percent": (total_auth / total * 100) if total > 0 else 0,
            "anonymous_percent": (total_anon / total * 100) if total > 0 else 0
        }

    def print_summary(self, repo_type: str, namespace: str, name: str):
        """Print comprehensive statistics summary."""
        repo_id = f"{namespace}/{name}"
        print(f"\n=== Statistics Summary: {repo_id} ===\n")

        # Basic stats
        basic = self.get_repo_stats(repo_type, namespace, name)
        print(f"Total Downloads: {basic['downloads']:,}")
        print(f"Likes: {basic['likes']:,}")

        # Growth analysis
        growth = self.analyze_growth(repo_type, namespace, name, 30)
        if growth:
            print(f"\n30-Day Trends:")
            print(f"  Average daily: {growth['avg_daily_downloads']:.1f}")
            print(f"  Growth rate: {growth['growth_rate_percent']:+.1f}%")
            print(f"  Trend: {growth['trend']}")

        # Auth vs Anon
        auth_data = self.compare_auth_vs_anon(repo_type, namespace, name, 30)
        print(f"\nUser Distribution (30 days):")
        print(f"  Authenticated: {auth_data['authenticated_percent']:.1f}%")
        print(f"  Anonymous: {auth_data['anonymous_percent']:.1f}%")


# Usage
analyzer = StatsAnalyzer(BASE_URL, TOKEN)

# Get comprehensive summary
analyzer.print_summary("model", "myorg", "mymodel")

# Analyze growth
growth = analyzer.analyze_growth("model", "myorg", "mymodel", 90)
print(f"90-day growth: {growth['growth_rate_percent']:+.1f}%")

# Get trending
trending = analyzer.get_trending("model", days=7, limit=10)
print(f"\nTop 10 trending models:")
for i, repo in enumerate(trending["trending"], 1):
    print(f"{i}. {repo['id']}: {repo['recent_downloads']:,} downloads")
