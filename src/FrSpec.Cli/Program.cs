using System.CommandLine;
using FrSpec.Cli.Support;

namespace FrSpec.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Error);

    /// <summary>
    /// Parses and runs a command line. Every failure — a parse error, an out-of-range option, bad input, an internal bug —
    /// is reported on <paramref name="error"/> as one line and a non-zero exit code (see <see cref="CliErrors"/>).
    /// </summary>
    public static int Run(string[] args, TextWriter error)
    {
        var root = BuildRoot();
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            string command = string.Join(' ', parse.CommandResult.Command is var c && c != root ? CommandPath(c) : []);
            error.WriteLine($"error: {CliErrors.OneLine(string.Join("; ", parse.Errors.Select(e => e.Message)))} (see 'frspec {command}{(command.Length > 0 ? " " : "")}--help')");
            return CliErrors.BadInput;
        }
        (bool debug, bool inProgram) = (CliErrors.Debug, CliErrors.InProgram);
        CliErrors.Debug = parse.GetValue<bool>(CliErrors.DebugName);
        CliErrors.InProgram = true;
        try
        {
            // Exceptions reach the handler below: System.CommandLine's default would print a stack trace.
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return CliErrors.Report(e, error);
        }
        finally { (CliErrors.Debug, CliErrors.InProgram) = (debug, inProgram); }
    }

    private static IEnumerable<string> CommandPath(Command c)
    {
        var names = new List<string>();
        for (Symbol? s = c; s is Command cmd && s is not RootCommand; s = cmd.Parents.FirstOrDefault()) names.Insert(0, cmd.Name);
        return names;
    }

    /// <summary>Builds the command tree from every <see cref="ICliVerb"/> in this assembly, with the ranges of numeric options attached.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("FrSpec: pure .NET LLM inference with EAGLE-2 and FR-Spec speculative decoding");
        root.Options.Add(CliErrors.CreateDebugOption());
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
        OptionRanges.Apply(root);
        return root;
    }
}
