using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DaprLlm.Sidecar.PubSub;

/// <summary>
/// The subset of CEL that routing rules use: <c>event.field</c> paths (also <c>event.data.x</c> and
/// <c>event["key"]</c>), string/number/bool/null literals, <c>== != &lt; &lt;= &gt; &gt;=</c>, <c>&amp;&amp; || !</c>,
/// parentheses, <c>has(event.x)</c> and the string methods <c>startsWith</c>, <c>endsWith</c>, <c>contains</c>.
/// Anything else (arithmetic, <c>in</c>, lists, macros, other functions) is rejected when the subscription loads.
/// As in CEL, reading a field that does not exist is an evaluation error.
/// </summary>
public sealed class MatchExpression
{
    private readonly Node _root;

    private MatchExpression(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> for unsupported syntax.</summary>
    public static MatchExpression Parse(string text)
    {
        var parser = new Parser(text);
        var root = parser.ParseExpression();
        parser.ExpectEnd();
        return new MatchExpression(text, root);
    }

    /// <summary>Evaluates against a CloudEvent (bound to the name <c>event</c>); throws <see cref="InvalidOperationException"/> on evaluation errors.</summary>
    public bool Matches(JsonObject cloudEvent) =>
        _root.Eval(cloudEvent) is bool b ? b : throw new InvalidOperationException($"the result of match expression {Text} was not a boolean");

    private abstract class Node
    {
        public abstract object? Eval(JsonObject ev);
    }

    private sealed class Literal(object? value) : Node
    {
        public override object? Eval(JsonObject ev) => value;
    }

    private sealed class PathNode(IReadOnlyList<string> segments, string text) : Node
    {
        public string Text => text;

        public override object? Eval(JsonObject ev) =>
            TryResolve(ev, out var value) ? value : throw new InvalidOperationException($"no such key: {text}");

        public bool TryResolve(JsonObject ev, out object? value)
        {
            JsonNode? current = ev;
            foreach (var segment in segments)
            {
                if (current is not JsonObject obj || !obj.TryGetPropertyValue(segment, out current))
                {
                    value = null;
                    return false;
                }
            }

            value = ToValue(current);
            return true;
        }

        // Arms are cast to object: JsonNode's implicit conversions would otherwise turn them back into nodes.
        private static object? ToValue(JsonNode? node) => node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => (object)v.GetValue<string>(),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => (object)v.GetValue<double>(),
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => (object)v.GetValue<bool>(),
            _ => node,
        };
    }

    private sealed class Has(PathNode path) : Node
    {
        public override object? Eval(JsonObject ev) => path.TryResolve(ev, out _);
    }

    private sealed class Not(Node inner) : Node
    {
        public override object? Eval(JsonObject ev) =>
            inner.Eval(ev) is bool b ? !b : throw new InvalidOperationException("'!' needs a boolean");
    }

    private sealed class Logical(Node left, Node right, bool isAnd) : Node
    {
        public override object? Eval(JsonObject ev)
        {
            var l = left.Eval(ev) as bool? ?? throw new InvalidOperationException("'&&'/'||' need booleans");
            if (isAnd ? !l : l)
            {
                return l;
            }

            return right.Eval(ev) as bool? ?? throw new InvalidOperationException("'&&'/'||' need booleans");
        }
    }

    private sealed class Compare(Node left, Node right, string op) : Node
    {
        public override object? Eval(JsonObject ev)
        {
            var l = left.Eval(ev);
            var r = right.Eval(ev);
            return op switch
            {
                "==" => AreEqual(l, r),
                "!=" => !AreEqual(l, r),
                _ => Order(l, r) switch
                {
                    var c when op == "<" => c < 0,
                    var c when op == "<=" => c <= 0,
                    var c when op == ">" => c > 0,
                    var c => c >= 0,
                },
            };
        }

        private static bool AreEqual(object? l, object? r) => (l, r) switch
        {
            (null, null) => true,
            (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
            (double a, double b) => a == b,
            (bool a, bool b) => a == b,
            (JsonNode a, JsonNode b) => JsonNode.DeepEquals(a, b),
            _ => false,
        };

        private static int Order(object? l, object? r) => (l, r) switch
        {
            (string a, string b) => string.CompareOrdinal(a, b),
            (double a, double b) => a.CompareTo(b),
            _ => throw new InvalidOperationException("no such overload for ordering comparison"),
        };
    }

    private sealed class StringMethod(Node target, string method, Node argument) : Node
    {
        public override object? Eval(JsonObject ev)
        {
            if (target.Eval(ev) is not string s || argument.Eval(ev) is not string a)
            {
                throw new InvalidOperationException($"{method} needs strings");
            }

            return method switch
            {
                "startsWith" => s.StartsWith(a, StringComparison.Ordinal),
                "endsWith" => s.EndsWith(a, StringComparison.Ordinal),
                _ => s.Contains(a, StringComparison.Ordinal),
            };
        }
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public Node ParseExpression()
        {
            var left = ParseAnd();
            while (TryTake("||"))
            {
                left = new Logical(left, ParseAnd(), isAnd: false);
            }

            return left;
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos < text.Length)
            {
                throw Error($"unsupported syntax at '{text[_pos..]}'");
            }
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (TryTake("&&"))
            {
                left = new Logical(left, ParseUnary(), isAnd: true);
            }

            return left;
        }

        private Node ParseUnary()
        {
            SkipSpace();
            if (Peek('!') && !PeekAt(1, '='))
            {
                _pos++;
                return new Not(ParseUnary());
            }

            var left = ParsePrimary();
            foreach (var op in new[] { "==", "!=", "<=", ">=", "<", ">" })
            {
                if (TryTake(op))
                {
                    return new Compare(left, ParsePrimary(), op);
                }
            }

            return left;
        }

        private Node ParsePrimary()
        {
            SkipSpace();
            if (_pos >= text.Length)
            {
                throw Error("unexpected end of expression");
            }

            var c = text[_pos];
            if (c == '(')
            {
                _pos++;
                var inner = ParseExpression();
                Expect(")");
                return inner;
            }

            if (c is '"' or '\'')
            {
                return new Literal(ReadString());
            }

            if (char.IsDigit(c) || (c == '-' && _pos + 1 < text.Length && char.IsDigit(text[_pos + 1])))
            {
                var start = _pos++;
                while (_pos < text.Length && (char.IsDigit(text[_pos]) || text[_pos] == '.'))
                {
                    _pos++;
                }

                return new Literal(double.Parse(text[start.._pos], CultureInfo.InvariantCulture));
            }

            var ident = ReadIdent();
            switch (ident)
            {
                case "true":
                    return new Literal(true);
                case "false":
                    return new Literal(false);
                case "null":
                    return new Literal(null);
                case "has":
                    Expect("(");
                    var path = ParsePath(ReadIdent()) as PathNode ?? throw Error("has() takes a field path");
                    Expect(")");
                    return new Has(path);
                case "event":
                    var node = ParsePathOrMethod(ident, allowMethod: true);
                    SkipSpace();
                    if (Peek('('))
                    {
                        throw Error("function calls other than startsWith/endsWith/contains are not supported");
                    }

                    return node;
                default:
                    throw Error($"unknown identifier '{ident}' (only 'event' is bound)");
            }
        }

        private Node ParsePath(string root) => ParsePathOrMethod(root, allowMethod: false);

        private Node ParsePathOrMethod(string root, bool allowMethod)
        {
            if (root != "event")
            {
                throw Error($"unknown identifier '{root}' (only 'event' is bound)");
            }

            var start = _pos - root.Length;
            var segments = new List<string>();
            while (true)
            {
                if (Peek('.'))
                {
                    _pos++;
                    var name = ReadIdent();
                    if (name is "startsWith" or "endsWith" or "contains" && Peek('('))
                    {
                        if (!allowMethod)
                        {
                            throw Error($"{name}() is not allowed here");
                        }

                        var target = new PathNode(segments, text[start..(_pos - name.Length - 1)]);
                        _pos++;
                        var argument = ParseExpression();
                        Expect(")");
                        return new StringMethod(target, name, argument);
                    }

                    segments.Add(name);
                }
                else if (Peek('['))
                {
                    _pos++;
                    SkipSpace();
                    segments.Add(ReadString());
                    Expect("]");
                }
                else
                {
                    break;
                }
            }

            return new PathNode(segments, text[start.._pos]);
        }

        private string ReadIdent()
        {
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] == '_'))
            {
                _pos++;
            }

            return _pos > start ? text[start.._pos] : throw Error($"expected a name at position {start}");
        }

        private string ReadString()
        {
            var quote = text[_pos++];
            var sb = new System.Text.StringBuilder();
            while (_pos < text.Length && text[_pos] != quote)
            {
                if (text[_pos] == '\\' && _pos + 1 < text.Length)
                {
                    _pos++;
                }

                sb.Append(text[_pos++]);
            }

            if (_pos >= text.Length)
            {
                throw Error("unterminated string");
            }

            _pos++;
            return sb.ToString();
        }

        private bool TryTake(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) == 0)
            {
                _pos += token.Length;
                return true;
            }

            return false;
        }

        private void Expect(string token)
        {
            if (!TryTake(token))
            {
                throw Error($"expected '{token}'");
            }
        }

        private bool Peek(char c)
        {
            SkipSpace();
            return _pos < text.Length && text[_pos] == c;
        }

        private bool PeekAt(int offset, char c) => _pos + offset < text.Length && text[_pos + offset] == c;

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private FormatException Error(string problem) => new($"match expression '{text}': {problem}");
    }
}
