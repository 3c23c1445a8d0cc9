using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Server;

namespace FrSpec.Tests.Packaging;

/// <summary>
/// `dotnet pack` makes the library package (FrSpec) with its metadata and the CLI as a .NET tool (FrSpec.Cli, command
/// frspec); the tool installs from the local package folder alone into a temporary tool path and runs outside the
/// repository: help, a generation with FR-Spec (--fr-size from the bundled counts) on the demo pair packed with it,
/// equal to the engine's own output, and `frspec demo`, which finds that demo pair by itself.
/// </summary>
public class ToolPackageTests
{
    private static (int Code, string Stdout, string Stderr) Run(string exe, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(4)), $"{exe} {string.Join(' ', args)} did not finish");
        return (p.ExitCode, stdout, stderr.Result);
    }

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    [Fact]
    public void PackedToolInstallsAndRunsOutsideTheRepository()
    {
        string root = Benchmarks.RepoFiles.Root;
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // bin/<Configuration>/<tfm>
        using var temp = new Benchmarks.TempDir();
        string packages = Path.Combine(temp.Path, "packages"), tools = Path.Combine(temp.Path, "tools"), outside = Path.Combine(temp.Path, "elsewhere");
        Directory.CreateDirectory(outside);
        foreach (var project in new[] { "src/FrSpec/FrSpec.csproj", "src/FrSpec.Cli/FrSpec.Cli.csproj" })
        {
            var (code, stdout, stderr) = Run(Dotnet, root, "pack", Path.Combine(root, project), "-c", configuration, "--no-build", "-o", packages, "-nologo");
            Assert.True(code == 0, $"dotnet pack {project}: {stdout}{stderr}");
        }

        // the library package: id, version, licence, readme, description, repository (type and commit: no invented address); symbols apart; engine dependencies only
        string library = Assert.Single(Directory.GetFiles(packages, "FrSpec.*.nupkg"), f => !Path.GetFileName(f).StartsWith("FrSpec.Cli."));
        Assert.Single(Directory.GetFiles(packages, "FrSpec.*.snupkg"));
        using (var zip = ZipFile.OpenRead(library))
        {
            var nuspec = XDocument.Load(zip.GetEntry("FrSpec.nuspec")!.Open());
            var ns = nuspec.Root!.Name.Namespace;
            var meta = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("FrSpec", meta.Element(ns + "id")!.Value);
            Assert.Equal("MIT", meta.Element(ns + "license")!.Value);
            Assert.Equal("README.md", meta.Element(ns + "readme")!.Value);
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "description")!.Value));
            Assert.Equal("git", meta.Element(ns + "repository")!.Attribute("type")!.Value);
            Assert.NotNull(zip.GetEntry("lib/net10.0/FrSpec.dll"));
            var dependencies = meta.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            Assert.Contains("Microsoft.Extensions.AI.Abstractions", dependencies);
            Assert.DoesNotContain(dependencies, d => d.StartsWith("FrSpec", StringComparison.Ordinal) || d.Contains("AspNetCore") || d.Contains("Skia"));
        }

        // install the tool from that folder only (no other package source), into a temporary tool path
        string config = Path.Combine(temp.Path, "nuget.config");
        File.WriteAllText(config, $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>""");
        var install = Run(Dotnet, outside, "tool", "install", "--tool-path", tools, "--configfile", config, "FrSpec.Cli", "--version", "0.1.0");
        Assert.True(install.Code == 0, install.Stdout + install.Stderr);
        string frspec = Path.Combine(tools, OperatingSystem.IsWindows() ? "frspec.exe" : "frspec");

        var help = Run(frspec, outside, "--help");
        Assert.True(help.Code == 0, help.Stderr);
        foreach (var verb in new[] { "generate", "chat", "serve", "demo" }) Assert.Contains(verb, help.Stdout);

        string demo = Assert.Single(Directory.GetDirectories(tools, "demo", SearchOption.AllDirectories));
        var generated = Run(frspec, outside, "generate", "--model", Path.Combine(demo, "target"), "--eagle", Path.Combine(demo, "eagle"), "--fr-size", "8192",
            "--max-tokens", "6", "--json", "Once upon a time");
        Assert.True(generated.Code == 0, generated.Stderr);
        var json = JsonDocument.Parse(generated.Stdout).RootElement;
        Assert.Equal("fr-8192", json.GetProperty("method").GetString());
        using var model = LanguageModel.Load(ServerFixture.Demo("target"));
        using var session = model.CreateSession(DecodingMethod.Eagle(ServerFixture.Demo("eagle"), model.Vocabulary.FindDraftVocabulary(8192)));
        var expected = session.Generate("Once upon a time", new GenerationOptions { MaxNewTokens = 6 }).Ids;
        Assert.Equal(expected, json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));

        var run = Run(frspec, outside, "demo", "--small", "--max-tokens", "4", "--fr-sizes", "8192", "--prompt", "Hello");
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Contains("identical to vanilla", run.Stdout);
        Assert.Contains(Path.Combine(demo, "target"), run.Stdout); // the demo pair packed with the tool
    }
}
