using FrSpec.Generation;
using FrSpec.Speculative;

namespace FrSpec.Sessions;

/// <summary>Prompt lookup (n-gram) drafting: no weights, so no FR-Spec variant (there is no draft LM head to cut).</summary>
public sealed record PromptLookupMethod(PromptLookupOptions Options) : DecodingMethod
{
    public override string Name => "lookup";

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        Options.Validate();
        return new SpeculativeDecoder(model.Target, new PromptLookupDrafter(Options), Name, acceptance);
    }
}
