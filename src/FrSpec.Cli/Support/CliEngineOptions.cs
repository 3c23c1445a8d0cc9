using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Cli.Support;

/// <summary>
/// The CLI's edge for <see cref="EngineOptions"/>: the only place that reads the FRSPEC_THREADS, FRSPEC_ISA,
/// FRSPEC_WEIGHTS, FRSPEC_PRECISION and FRSPEC_CODEGEN environment variables. The library itself reads none.
/// </summary>
internal static class CliEngineOptions
{
    public static EngineOptions FromEnvironment() => Parse(Environment.GetEnvironmentVariable);

    internal static EngineOptions Parse(Func<string, string?> env)
    {
        var o = new EngineOptions();
        if (env("FRSPEC_THREADS") is { Length: > 0 } t)
            o = o with { Threads = int.TryParse(t, out int n) && n >= 0 ? n : throw new FrSpecException($"FRSPEC_THREADS: expected a non-negative integer, got '{t}'") };
        if (env("FRSPEC_ISA") is { Length: > 0 } i)
            o = o with { Isa = Enum.TryParse<Isa>(i, ignoreCase: true, out var isa) && Enum.IsDefined(isa) ? isa
                : throw new FrSpecException($"FRSPEC_ISA: expected one of {string.Join(", ", Enum.GetNames<Isa>()).ToLowerInvariant()}, got '{i}'") };
        if (env("FRSPEC_WEIGHTS") is { Length: > 0 } w)
            o = o with { WeightMemory = w.ToLowerInvariant() switch
            {
                "mmap" or "mapped" => WeightMemory.Mapped,
                "hugepages" or "thp" => WeightMemory.HugePages,
                _ => throw new FrSpecException($"FRSPEC_WEIGHTS: expected mmap or hugepages, got '{w}'"),
            } };
        if (env("FRSPEC_PRECISION") is { Length: > 0 } p)
            o = o with { Precision = Enum.TryParse<Precision>(p, ignoreCase: true, out var pr) && Enum.IsDefined(pr) ? pr
                : throw new FrSpecException($"FRSPEC_PRECISION: expected exact or fast, got '{p}'") };
        if (env("FRSPEC_CODEGEN") is { Length: > 0 } c)
            o = o with { CodeGeneration = c is "1" or "on" or "true" ? true : c is "0" or "off" or "false" ? false
                : throw new FrSpecException($"FRSPEC_CODEGEN: expected on or off, got '{c}'") };
        o.Validate();
        return o;
    }
}
