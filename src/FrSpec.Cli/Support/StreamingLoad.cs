using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace FrSpec.Cli.Support;

/// <summary>What one load level measured (times in seconds).</summary>
internal sealed record LoadResult(int Clients, double Seconds, int Completed, int Cancelled, int Errors, int Refused, long Tokens,
    double[] FirstTokenSeconds, double[] RequestTokensPerSecond, double[] AggregatePerSecond)
{
    public double TokensPerSecond => Tokens / Seconds;
}

/// <summary>
/// N concurrent streaming clients against an OpenAI-compatible endpoint for a bounded time: each sends completions
/// requests (stream, include_usage) one after another, reads the Server-Sent Events, and records the time to the
/// first text, the completion tokens (from usage) and when each piece arrived. Every <c>cancelEvery</c>-th request
/// is abandoned after a few pieces (the client disconnects). No new request starts after the time is up; the level
/// ends when the last one has.
/// </summary>
internal static class StreamingLoad
{
    public static async Task<LoadResult> RunAsync(HttpClient http, int clients, TimeSpan duration, string[] prompts, int maxTokens, int cancelEvery)
    {
        var first = new List<double>();
        var rates = new List<double>();
        var arrivals = new List<long>();
        int completed = 0, cancelled = 0, errors = 0, refused = 0, issued = 0;
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        var stopAt = duration;

        async Task Client(int id)
        {
            var mine = new List<long>();
            while (clock.Elapsed < stopAt)
            {
                int n = Interlocked.Increment(ref issued);
                bool abandon = cancelEvery > 0 && n % cancelEvery == 0;
                string body = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["prompt"] = prompts[(id + n) % prompts.Length], ["max_tokens"] = maxTokens, ["temperature"] = 0,
                    ["stream"] = true, ["stream_options"] = new Dictionary<string, bool> { ["include_usage"] = true },
                });
                long start = Stopwatch.GetTimestamp();
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable) { Interlocked.Increment(ref refused); await Task.Delay(1000).ConfigureAwait(false); continue; }
                    if (!response.IsSuccessStatusCode) { Interlocked.Increment(ref errors); continue; }
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
                    long firstText = 0;
                    int pieces = 0, usage = -1;
                    bool done = false;
                    while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                    {
                        if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                        if (line == "data: [DONE]") { done = true; break; }
                        using var doc = JsonDocument.Parse(line.AsMemory(6));
                        var root = doc.RootElement;
                        if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object) usage = u.GetProperty("completion_tokens").GetInt32();
                        if (root.TryGetProperty("error", out _)) break;
                        var choices = root.GetProperty("choices");
                        if (choices.GetArrayLength() == 0 || choices[0].GetProperty("text").GetString() is not { Length: > 0 }) continue;
                        long now = Stopwatch.GetTimestamp();
                        if (firstText == 0) firstText = now;
                        mine.Add(now);
                        if (abandon && ++pieces == 3) break; // this client goes away mid-answer
                    }
                    if (abandon) { Interlocked.Increment(ref cancelled); continue; }
                    if (!done || usage < 0 || firstText == 0) { Interlocked.Increment(ref errors); continue; }
                    long end = Stopwatch.GetTimestamp();
                    lock (first)
                    {
                        completed++;
                        tokens += usage;
                        first.Add(Stopwatch.GetElapsedTime(start, firstText).TotalSeconds);
                        double decode = Stopwatch.GetElapsedTime(firstText, end).TotalSeconds;
                        if (usage > 1 && decode > 0) rates.Add((usage - 1) / decode);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or JsonException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            lock (arrivals) arrivals.AddRange(mine);
        }

        long origin = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(Client)).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        // text pieces that arrived in each whole second of the window: the aggregate rate's spread over time
        var perSecond = new double[Math.Max(1, (int)duration.TotalSeconds)];
        foreach (long t in arrivals)
        {
            int s = (int)Stopwatch.GetElapsedTime(origin, t).TotalSeconds;
            if (s < perSecond.Length) perSecond[s]++;
        }
        return new LoadResult(clients, seconds, completed, cancelled, errors, refused, tokens, [.. first], [.. rates], perSecond);
    }

    /// <summary>The q-quantile (0..1) of values by linear interpolation; NaN when empty.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
