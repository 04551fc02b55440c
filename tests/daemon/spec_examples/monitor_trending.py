def monitor_trending(repo_type: str = "model", top_n: int = 10):
    """Monitor and report trending repositories."""
    response = requests.get(
        f"{BASE_URL}/api/trending",
        params={
            "repo_type": repo_type,
            "days": 7,
            "limit": top_n
        }
    )
    trending = response.json()

    print(f"\n{'='*60}")
    print(f"Top {top_n} Trending {repo_type.title()}s (Last 7 Days)")
    print(f"{'='*60}\n")

    for i, repo in enumerate(trending["trending"], 1):
        print(f"{i:2d}. {repo['id']}")
        print(f"    Recent: {repo['recent_downloads']:>8,} downloads")
        print(f"    Total:  {repo['downloads']:>8,} downloads")
        print(f"    Likes:  {repo['likes']:>8,}")
        print()


# Usage
monitor_trending("model", top_n=10)
monitor_trending("dataset", top_n=5)
