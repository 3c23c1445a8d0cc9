namespace FrSpec.Text.Jinja;

internal enum TokenKind
{
    /// <summary>Template text outside tags.</summary>
    Data,
    BlockBegin,
    BlockEnd,
    VariableBegin,
    VariableEnd,
    Name,
    String,
    Integer,
    Float,
    /// <summary>Punctuation and operators: + - * / // % ** ~ = == != &lt; &lt;= &gt; &gt;= ( ) [ ] { } . , : | ;</summary>
    Operator,
    Eof,
}

/// <summary>A lexer token: <see cref="Text"/> is the decoded string for Data/String, the name or operator otherwise;
/// <see cref="Number"/> holds Integer (long) and Float (double) literals. <see cref="Position"/> is the offset in the
/// (newline-normalised) template.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Position, object? Number = null)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;
    public bool IsOperator(string op) => Kind == TokenKind.Operator && Text == op;

    public string Describe() => Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.BlockBegin => "begin of statement block",
        TokenKind.VariableBegin => "begin of print statement",
        TokenKind.Data => "template data",
        TokenKind.String => "string",
        _ => $"'{Text}'",
    };
}
