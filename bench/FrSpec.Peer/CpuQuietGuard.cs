namespace FrSpec.Peer;

/// <summary>
/// Waits until the machine's CPUs are mostly idle (from /proc/stat) before a measurement round, so neither engine is
/// timed while other jobs run; gives up after a deadline and says so. A no-op where /proc/stat does not exist.
/// </summary>
internal static class CpuQuietGuard
{
    private const string Stat = "/proc/stat";

    /// <summary>True once the busy fraction over a 0.5 s window is at most <paramref name="maxBusy"/>; false after <paramref name="maxWait"/>.</summary>
    public static bool WaitForQuiet(double maxBusy, TimeSpan maxWait)
    {
        if (maxWait <= TimeSpan.Zero || !File.Exists(Stat)) return true;
        var deadline = DateTime.UtcNow + maxWait;
        while (true)
        {
            double busy = BusyFraction(TimeSpan.FromMilliseconds(500));
            if (busy <= maxBusy) return true;
            if (DateTime.UtcNow >= deadline) return false;
        }
    }

    /// <summary>Fraction of CPU time spent neither idle nor waiting for I/O during <paramref name="window"/>.</summary>
    public static double BusyFraction(TimeSpan window)
    {
        var (idle0, total0) = Read();
        Thread.Sleep(window);
        var (idle1, total1) = Read();
        long total = total1 - total0;
        return total <= 0 ? 0 : 1.0 - (double)(idle1 - idle0) / total;
    }

    private static (long idle, long total) Read()
    {
        // "cpu  user nice system idle iowait irq softirq steal ..."
        string? line = File.ReadLines(Stat).FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        if (line == null) return (0, 0);
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => long.TryParse(s, out long v) ? v : 0).ToArray();
        long total = f.Take(8).Sum();
        long idle = (f.Length > 3 ? f[3] : 0) + (f.Length > 4 ? f[4] : 0);
        return (idle, total);
    }
}
