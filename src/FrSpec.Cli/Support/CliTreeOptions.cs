using System.CommandLine;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Cli.Support;

/// <summary>
/// The tree flags of `generate`, `bench spec` and `demo`: `--tree auto` (the default: the automatic tree, its measured
/// costs cached in ~/.cache/frspec/tree-costs) or a fixed tree from any of --tree-depth/--tree-topk/--tree-tokens
/// (unset ones take <see cref="TreeOptions.Default"/>'s values).
/// </summary>
internal sealed class CliTreeOptions
{
    public Option<string> Tree { get; } = new("--tree") { Description = "auto: choose depth, top-k, tree size (and V' with --fr-size auto) from costs measured on this machine and running acceptance statistics (default); fixed: the default fixed tree; --tree-* flags fix the tree", DefaultValueFactory = _ => "auto" };
    public Option<int?> Depth { get; } = new("--tree-depth") { Description = $"Fixed tree: EAGLE-2 expansion steps after the root's children (default {TreeOptions.Default.Depth})" };
    public Option<int?> TopK { get; } = new("--tree-topk") { Description = $"Fixed tree: EAGLE-2 children per node and frontier width (default {TreeOptions.Default.TopK})" };
    public Option<int?> Tokens { get; } = new("--tree-tokens") { Description = $"Fixed tree: tokens verified per step, root included (default {TreeOptions.Default.TotalTokens})" };

    public IEnumerable<Option> All => [Tree, Depth, TopK, Tokens];

    /// <summary>The fixed tree the flags ask for, or null for the automatic tree.</summary>
    public TreeOptions? Resolve(ParseResult pr) => Resolve(pr.GetValue(Tree), pr.GetValue(Depth), pr.GetValue(TopK), pr.GetValue(Tokens));

    public static TreeOptions? Resolve(string? tree, int? depth, int? topK, int? tokens)
    {
        bool explicitTree = depth != null || topK != null || tokens != null;
        if (tree is not null and not "auto" and not "fixed")
            throw new FrSpecException($"--tree {tree}: expected auto (or give --tree-depth/--tree-topk/--tree-tokens for a fixed tree)");
        if (!explicitTree) return tree == "fixed" ? TreeOptions.Default : null;
        var d = TreeOptions.Default;
        var fixedTree = new TreeOptions { Depth = depth ?? d.Depth, TopK = topK ?? d.TopK, TotalTokens = tokens ?? d.TotalTokens };
        fixedTree.Validate();
        return fixedTree;
    }

    /// <summary>The automatic tree's settings for the CLI: its costs and learned acceptance kept under the user cache folder.</summary>
    public static AutoTreeOptions Auto => new() { CostCacheDirectory = CliCache.Folder("tree-costs"), AcceptanceCacheDirectory = CliCache.Folder("acceptance") };
}
