// The specification's "JavaScript/TypeScript Example" (statistics-api.md): the StatsAPI
// class, statement for statement, indentation restored. test_cors_browser.py runs it
// in headless Chromium from a page on another origin.
class StatsAPI {
  constructor(baseURL, token = null) {
    this.baseURL = baseURL;
    this.headers = token ? { 'Authorization': `Bearer ${token}` } : {};
  }
  async getRepoStats(repoType, namespace, name) {
    const response = await fetch(
      `${this.baseURL}/${repoType}s/${namespace}/${name}/stats`,
      { headers: this.headers }
    );
    return await response.json();
  }
  async getRecentStats(repoType, namespace, name, days = 30) {
    const response = await fetch(
      `${this.baseURL}/${repoType}s/${namespace}/${name}/stats/recent?days=${days}`,
      { headers: this.headers }
    );
    return await response.json();
  }
  async getTrending(repoType = 'model', days = 7, limit = 20) {
    const response = await fetch(
      `${this.baseURL}/api/trending?repo_type=${repoType}&days=${days}&limit=${limit}`,
      { headers: this.headers }
    );
    return await response.json();
  }
  async analyzeGrowth(repoType, namespace, name, days = 30) {
    const data = await this.getRecentStats(repoType, namespace, name, days);
    const stats = data.stats;
    if (!stats.length) return null;
    const total = stats.reduce((sum, s) => sum + s.downloads, 0);
    const avgDaily = total / stats.length;
    const midPoint = Math.floor(stats.length / 2);
    const firstHalf = stats.slice(0, midPoint)
      .reduce((sum, s) => sum + s.downloads, 0);
    const secondHalf = stats.slice(midPoint)
      .reduce((sum, s) => sum + s.downloads, 0);
    const growthRate = firstHalf > 0
      ? ((secondHalf - firstHalf) / firstHalf * 100)
      : 0;
    return {
      totalDownloads: total,
      avgDailyDownloads: avgDaily,
      growthRatePercent: growthRate,
      trend: secondHalf > firstHalf ? 'up' : secondHalf < firstHalf ? 'down' : 'stable'
    };
  }
}
