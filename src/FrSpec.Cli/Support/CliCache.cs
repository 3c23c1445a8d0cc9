namespace FrSpec.Cli.Support;

/// <summary>
/// The CLI's user cache folder: $FRSPEC_CACHE, else ~/.cache/frspec (the tests use the same). It holds the JS reference
/// tokenizer, the automatic tree's measured costs and the demo's expanded models; everything in it can be deleted.
/// </summary>
internal static class CliCache
{
    public static string Root
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("FRSPEC_CACHE");
            return !string.IsNullOrWhiteSpace(env) ? env : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "frspec");
        }
    }

    /// <summary>A sub-folder of <see cref="Root"/> (not created).</summary>
    public static string Folder(string name) => Path.Combine(Root, name);
}
