import csv
from datetime import datetime


def export_stats_to_csv(repo_type: str, namespace: str, name: str,
                        days: int = 30, filename: str = None):
    """Export repository statistics to CSV file."""
    response = requests.get(
        f"{BASE_URL}/{repo_type}s/{namespace}/{name}/stats/recent",
        params={"days": days},
        headers={"Authorization": f"Bearer {TOKEN}"}
    )
    data = response.json()

    if not filename:
        filename = f"{namespace}_{name}_stats_{datetime.now():%Y%m%d}.csv"

    with open(filename, 'w', newline='') as csvfile:
        fieldnames = ["date", "downloads", "authenticated", "anonymous", "files"]
        writer = csv.DictWriter(csvfile, fieldnames=fieldnames)

        writer.writeheader()
        for stat in data["stats"]:
            writer.writerow(stat)

    print(f"Exported statistics to {filename}")
    return filename


# Usage
export_stats_to_csv("model", "myorg", "mymodel", days=90)
