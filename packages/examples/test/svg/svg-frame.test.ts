import { barChartSvg } from '../../src/cli/report';
import { lineChartSvg } from '../../src/sweep/charts';
import { COLORS, escapeXml, seriesColor } from '../../src/svg/svg-frame';

describe('svg frame shared by the report and sweep charts', () => {
  it('escapes the XML specials in text and attributes', () => {
    expect(escapeXml('a < b & "c" > d')).toBe('a &lt; b &amp; &quot;c&quot; &gt; d');
    expect(escapeXml('&amp;')).toBe('&amp;amp;');
  });

  it('cycles the palette', () => {
    expect(seriesColor(0)).toBe(COLORS[0]);
    expect(seriesColor(COLORS.length + 2)).toBe(COLORS[2]);
  });

  it('gives both chart kinds the same frame, escaping and legend colours', () => {
    const title = 'x <&> "y"';
    const bar = barChartSvg(title, ['p'], ['a<1>', 'b'], () => 3);
    const line = lineChartSvg(
      title,
      'v',
      [1, 2],
      [
        { name: 'a<1>', points: new Map([[1, [3]]]) },
        { name: 'b', points: new Map([[2, [4]]]) },
      ],
    );
    for (const svg of [bar, line]) {
      const lines = svg.split('\n');
      expect(lines[0]).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
      expect(lines[1]).toBe('<title>x &lt;&amp;&gt; &quot;y&quot;</title>');
      expect(lines[2]).toBe('<rect width="100%" height="100%" fill="white"/>');
      expect(svg).toContain('>a&lt;1&gt;</text>');
      expect(svg).toContain(`width="12" height="12" fill="${COLORS[1]}"/>`);
      expect(svg.endsWith('</svg>\n')).toBe(true);
      expect(svg).not.toMatch(/<[^/a-z!]/); // no unescaped '<' in text
    }
  });
});
