using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FrSpec.Model;

namespace FrSpec.Tests;

/// <summary>
/// The engine assembly (src/FrSpec) stays free of tools and native code, reads no environment variables, and its
/// namespaces form layers without cycles. These tests read the built assembly, its project file, its deps.json and
/// its sources, so a new dependency fails here rather than in a user's build.
/// </summary>
public class EngineDependencyTests
{
    /// <summary>Packages the engine may reference: all pure managed (later issues add Iced and the AI abstractions).</summary>
    private static readonly string[] AllowedPackages = ["System.Numerics.Tensors", "Iced", "Microsoft.Extensions.AI.Abstractions"];

    private static readonly Assembly Engine = typeof(Transformer).Assembly;

    private static string RepoRoot => FrSpec.Cli.BenchmarkDataLocator.FindRepositoryRoot() ?? throw new InvalidOperationException("repository root not found");
    private static string EngineDir => Path.Combine(RepoRoot, "src", "FrSpec");

    [Fact]
    public void EngineReferencesOnlyTheFrameworkAndAllowedPackages()
    {
        var names = Engine.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("System.Runtime", names);
        var foreign = names.Where(n => !(n.StartsWith("System.", StringComparison.Ordinal) || n == "System" || n.StartsWith("Microsoft.Win32.", StringComparison.Ordinal)
            || n == "netstandard" || n == "mscorlib" || AllowedPackages.Contains(n))).ToList();
        Assert.True(foreign.Count == 0, $"the engine references {string.Join(", ", foreign)}");
    }

    [Fact]
    public void EngineProjectReferencesNoProjectAndOnlyAllowedPackages()
    {
        var project = XDocument.Load(Path.Combine(EngineDir, "FrSpec.csproj"));
        var packages = project.Descendants("PackageReference").Select(e => (string?)e.Attribute("Include") ?? "").ToList();
        Assert.Contains("System.Numerics.Tensors", packages);
        Assert.All(packages, p => Assert.Contains(p, AllowedPackages));
        Assert.Empty(project.Descendants("ProjectReference"));
    }

    [Fact]
    public void EngineDepsJsonCarriesNoNativeAssets()
    {
        // The test assembly runs from .../tests/FrSpec.Tests/bin/<Configuration>/<tfm>/; the engine's own output sits beside it.
        var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string deps = Path.Combine(EngineDir, "bin", tfmDir.Parent!.Name, tfmDir.Name, "FrSpec.deps.json");
        Assert.True(File.Exists(deps), $"{deps} not found");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(deps));
        var libraries = new List<string>();
        foreach (var target in doc.RootElement.GetProperty("targets").EnumerateObject())
            foreach (var library in target.Value.EnumerateObject())
            {
                libraries.Add(library.Name);
                Assert.False(library.Value.TryGetProperty("native", out _), $"{library.Name} brings native assets");
                Assert.False(library.Value.TryGetProperty("runtimeTargets", out _), $"{library.Name} brings runtime-specific assets");
            }
        Assert.Contains(libraries, l => l.StartsWith("System.Numerics.Tensors/", StringComparison.Ordinal));
        Assert.All(libraries.Where(l => !l.StartsWith("FrSpec/", StringComparison.Ordinal)),
            l => Assert.Contains(l[..l.IndexOf('/')], AllowedPackages));
    }

    [Fact]
    public void EngineSourcesReadNoEnvironmentVariables()
    {
        var offenders = EngineSources()
            .Where(f => Regex.IsMatch(StripComments(File.ReadAllText(f)), @"\b(GetEnvironmentVariables?|ExpandEnvironmentVariables)\b"))
            .Select(f => Path.GetRelativePath(RepoRoot, f)).ToList();
        Assert.True(offenders.Count == 0, $"environment variables are read at the CLI edge only, not in {string.Join(", ", offenders)}");
    }

    /// <summary>
    /// Namespaces of the engine depend on each other without cycles (the root namespace FrSpec holds only the options and
    /// the exception type, which every layer uses). A reference is a using directive or a qualified name of a type
    /// that exists in the other namespace.
    /// </summary>
    [Fact]
    public void EngineNamespacesFormLayersWithoutCycles()
    {
        var types = Engine.GetTypes().Where(t => t.Namespace != null && t.Namespace.StartsWith("FrSpec.", StringComparison.Ordinal))
            .GroupBy(t => t.Namespace!).ToDictionary(g => g.Key, g => g.Select(t => t.Name.Split('`')[0]).ToHashSet());
        var graph = types.Keys.ToDictionary(n => n, _ => new HashSet<string>());
        foreach (var file in EngineSources())
        {
            string text = StripComments(File.ReadAllText(file));
            var ns = Regex.Match(text, @"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline);
            if (!ns.Success || !graph.TryGetValue(ns.Groups[1].Value, out var edges)) continue;
            foreach (Match u in Regex.Matches(text, @"^using\s+(FrSpec\.[\w.]+)\s*;", RegexOptions.Multiline))
                if (types.ContainsKey(u.Groups[1].Value)) edges.Add(u.Groups[1].Value);
            foreach (Match q in Regex.Matches(text, @"(?<![\w.])(?:FrSpec\.)?((?:[A-Z]\w*\.)*[A-Z]\w*)\.([A-Z]\w*)"))
            {
                string target = "FrSpec." + q.Groups[1].Value;
                if (types.TryGetValue(target, out var names) && names.Contains(q.Groups[2].Value)) edges.Add(target);
            }
            edges.Remove(ns.Groups[1].Value);
        }
        Assert.DoesNotContain("FrSpec.Model", graph["FrSpec.Formats"]);
        var cycle = FindCycle(graph);
        Assert.True(cycle == null, $"namespace cycle: {string.Join(" -> ", cycle ?? [])}");
    }

    private static IEnumerable<string> EngineSources() =>
        Directory.EnumerateFiles(EngineDir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    private static string StripComments(string code) => Regex.Replace(code, @"//[^\n]*|/\*.*?\*/|""(?:[^""\\\n]|\\.)*""", " ", RegexOptions.Singleline);

    private static List<string>? FindCycle(Dictionary<string, HashSet<string>> graph)
    {
        var state = new Dictionary<string, int>(); // 1 = on the stack, 2 = done
        var stack = new List<string>();
        List<string>? Visit(string n)
        {
            state[n] = 1;
            stack.Add(n);
            foreach (var m in graph[n])
            {
                if (state.GetValueOrDefault(m) == 1) return [.. stack.Skip(stack.IndexOf(m)), m];
                if (state.GetValueOrDefault(m) == 0 && Visit(m) is { } c) return c;
            }
            stack.RemoveAt(stack.Count - 1);
            state[n] = 2;
            return null;
        }
        foreach (var n in graph.Keys)
            if (state.GetValueOrDefault(n) == 0 && Visit(n) is { } c) return c;
        return null;
    }
}
