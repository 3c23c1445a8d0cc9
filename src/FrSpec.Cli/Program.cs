using System.CommandLine;
using System.Reflection;

namespace FrSpec.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = BuildRoot();
        try
        {
            // Our handler below prints user errors without a stack trace; System.CommandLine's default would print one.
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is FrSpecException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Builds the command tree from every <see cref="ICliVerb"/> in this assembly.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("FrSpec: pure .NET LLM inference with EAGLE-2 and FR-Spec speculative decoding");
        var verbs = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(ICliVerb).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
            .Select(t => (ICliVerb)Activator.CreateInstance(t)!)
            .ToList();
        var built = verbs.Select(v => (verb: v, cmd: v.Create())).ToList();
        foreach (var (verb, cmd) in built.Where(b => b.verb.Parent == ""))
            root.Subcommands.Add(cmd);
        foreach (var (verb, cmd) in built.Where(b => b.verb.Parent != ""))
        {
            var parent = root.Subcommands.FirstOrDefault(c => c.Name == verb.Parent);
            if (parent is null)
            {
                parent = new Command(verb.Parent, $"{verb.Parent} commands");
                root.Subcommands.Add(parent);
            }
            parent.Subcommands.Add(cmd);
        }
        return root;
    }
}
