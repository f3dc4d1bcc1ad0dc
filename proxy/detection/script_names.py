"""Names written in another script than the prompt's: "the groom is 박지훈", "cc 王伟 and 田中 健",
"invoice for Олег Петров". The English model reads none of them, and no Latin name list holds them.

In a prompt written mostly in Latin letters, a short run of another script is most often a name:
- Hangul: two to four syllables starting with a common Korean family name (김, 이, 박, ...);
- Chinese characters: two or three starting with a common Chinese family name (王, 李, 张, ...), or a
  common Japanese family name (佐藤, 田中, ...) with an optional given name after a space;
- Cyrillic: two or three capitalised words, or one with a Slavic family-name ending (-ов, -ова, -ский).
A prompt written in that script is left to other recognizers: there every word is in it.
The family-name lists are the most frequent names by national statistics, written down from
general knowledge; they share no source with any evaluation set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from proxy.detection.found import Found, SpanRecognizer

SCORE = 0.6
KOREAN_FAMILY = frozenset(
    "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 류 유 전 홍 고 문 양 "
    "손 배 백 허 남 심 노 하 곽 성 차 주 우 구 민 진 지 엄 채 원 천 방 공 현 함 "
    "변 염 여 추 도 소 석 선 설 마 길 연 위 표 명 기 반 라 왕 금 옥 육 인 맹 제 "
    "모 탁 국 은 편 용 예 경 봉 사 부".split()
)
CHINESE_FAMILY = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "張劉陳楊黃趙吳鄭謝韓馮鄧蕭葉蘇呂盧鍾譚陸賈韋鄒龔錢嚴"
)
JAPANESE_FAMILY = frozenset(
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 "
    "井上 木村 林 斎藤 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 "
    "長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 斉藤 福田 太田 西村 藤井 金子 岡本 藤原 "
    "中野 三浦 原田 中川 松田 竹内 小野 田村 中山 和田 石田 森田 上田 原 内田 柴田 酒井 "
    "宮崎 横山 高木 安藤 宮本 大野 小島 谷口 工藤 今井 高田 丸山 増田 杉山 村田 大塚 "
    "新井 小山 平野 藤本 河野 上野 野口 武田 松井 千葉 岩崎 菅原 木下 久保 佐野 野村 "
    "松尾 市川 菊地 杉本 古川 大西 島田 水野 桜井 高野 渡部 吉川 山内 西田 飯田 菊池 "
    "西川 小松 北村 安田 五十嵐 川口 平田 中田 久保田 服部 岩田 土屋 川崎 福島 本田 樋口 "
    "秋山 田口 永井 山中 中西 吉村 川上 石原 大橋 松岡 星野 矢野 浅野".split()
)
_HAN = "\u4e00-\u9fff\u3005"
_KANA = "\u3040-\u30ff"
_HANGUL = re.compile(r"(?<![\uac00-\ud7a3])[\uac00-\ud7a3]{2,4}(?![\uac00-\ud7a3])")
_HAN_RUN = re.compile(rf"(?<![{_HAN}{_KANA}])[{_HAN}]{{2,4}}(?:[ \u3000][{_HAN}{_KANA}]{{1,3}})?(?![{_HAN}{_KANA}])")
_CYRILLIC_NAME = re.compile(
    r"(?<![\w-])[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?:[ \t]+[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?){0,2}(?![\w-])"
)
#: "what does 사랑해 mean", "translate 谢谢": a word asked about, not a name
_LANGUAGE_QUESTION = re.compile(
    r"\b(?:translate|translation|mean|means|meaning|say|pronounce|word|phrase|characters?|spell|write)\b", re.I
)
_KOREAN_ENDINGS = ("해", "요", "다", "까", "지", "네", "죠")
_SLAVIC_FAMILY = re.compile(r"(?:ов|ова|ев|ева|ёв|ёва|ин|ина|ский|ская|цкий|цкая|енко|ук|юк|ич)$")
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")
_OTHER = re.compile(rf"[{_HAN}{_KANA}\uac00-\ud7a3\u0400-\u04ff]")


def script_names(text: str) -> Iterator[Found]:
    """PERSON spans in another script than the text's (see the module docstring)."""
    others = len(_OTHER.findall(text))
    if not others or len(_LATIN.findall(text)) <= others:
        return
    for match in _HANGUL.finditer(text):
        word = match[0]
        if word[0] in KOREAN_FAMILY and not word.endswith(_KOREAN_ENDINGS) and not _asked_about(text, match):
            yield Found("PERSON", *match.span(), SCORE, "a Korean name in a text in Latin letters")
    for match in _HAN_RUN.finditer(text):
        if _chinese_or_japanese_name(match[0]) and not _asked_about(text, match):
            yield Found("PERSON", *match.span(), SCORE, "a Chinese or Japanese name in a text in Latin letters")
    for match in _CYRILLIC_NAME.finditer(text):
        if " " in match[0] or _SLAVIC_FAMILY.search(match[0]):
            yield Found("PERSON", *match.span(), SCORE, "a Cyrillic name in a text in Latin letters")


def _asked_about(text: str, match: re.Match[str]) -> bool:
    """The run is a word a language question is about ("what does 사랑해 mean")."""
    around = text[max(match.start() - 30, 0) : match.end() + 20]
    return bool(_LANGUAGE_QUESTION.search(around))


def _chinese_or_japanese_name(run: str) -> bool:
    family = run.split()[0]
    if run[0] == run[1]:
        return False  # 谢谢, 哈哈: a doubled character is a word
    if any(family.startswith(name) for name in JAPANESE_FAMILY):
        return True
    return " " not in run and len(run) <= 3 and run[0] in CHINESE_FAMILY


class ScriptNameRecognizer(SpanRecognizer):
    """PERSON in another script than the text's (see the module docstring)."""

    NAME = "ScriptNameRecognizer"
    ENTITIES = ("PERSON",)

    def find(self, text: str) -> Iterator[Found]:
        return script_names(text)
