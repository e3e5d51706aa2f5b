"""Indonesian chat-text normalisation for triage, and masking of personal data in message text.

`normalize` is pure and deterministic: lower-cases, replaces URLs, mentions, e-mails and long
numbers by placeholder words (so no personal number ever reaches a model's vocabulary), maps
emoji to sentiment words, squeezes stretched letters, expands slang and marks negation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

# Slang / abbreviation / English -> standard Indonesian. "src=dst" pairs, dst may hold spaces
# written as "+". Written for citizen chats about the programme; first match wins.
_SLANG_TEXT = """
gak=tidak ga=tidak gk=tidak nggak=tidak ngga=tidak nggk=tidak ngak=tidak enggak=tidak
engga=tidak egak=tidak kagak=tidak kaga=tidak ndak=tidak ndk=tidak tdk=tidak tak=tidak
gag=tidak gaa=tidak kgk=tidak gaada=tidak+ada gakada=tidak+ada gabisa=tidak+bisa gbs=tidak+bisa
gamau=tidak+mau gatau=tidak+tahu gatw=tidak+tahu gatahu=tidak+tahu gapernah=tidak+pernah
bkn=bukan bukn=bukan blm=belum blom=belum belom=belum lom=belum jgn=jangan jngn=jangan
udh=sudah udah=sudah sdh=sudah dah=sudah udahh=sudah uda=sudah sudh=sudah
gmn=bagaimana gmana=bagaimana gimana=bagaimana bgmn=bagaimana gmna=bagaimana
knp=kenapa knapa=kenapa napa=kenapa np=kenapa mengapa=kenapa kpn=kapan kapn=kapan
brp=berapa brapa=berapa dmn=di+mana dimn=di+mana dimana=di+mana kmn=ke+mana kemana=ke+mana
sy=saya sya=saya aku=saya aq=saya ak=saya gw=saya gue=saya gua=saya sayah=saya
km=kamu kmu=kamu lu=kamu lo=kamu elu=kamu anda=kamu kalian=kamu
min=admin mimin=admin admn=admin kak=kakak ka=kakak kk=kakak kaka=kakak gan=kakak sis=kakak
bro=kakak pak=bapak bpk=bapak bu=ibu
yg=yang yng=yang dgn=dengan dg=dengan dngn=dengan utk=untuk untk=untuk tuk=untuk
dr=dari dri=dari krn=karena karna=karena krna=karena soalnya=karena tp=tapi tpi=tapi
tetapi=tapi namun=tapi jg=juga jga=juga jd=jadi jdi=jadi sm=sama ama=sama
dll=dan+lain+lain dst=dan+seterusnya spt=seperti kyk=seperti kayak=seperti kek=seperti
bgt=banget bngt=banget bgtt=banget banget=banget sangat=banget amat=banget
aja=saja aj=saja doang=saja ja=saja lg=lagi lgi=lagi msh=masih masi=masih msih=masih
bs=bisa bsa=bisa isa=bisa dpt=dapat dapet=dapat dpat=dapat trs=terus trus=terus
skrg=sekarang skrng=sekarang skr=sekarang skarang=sekarang sekrg=sekarang
kmrn=kemarin kemaren=kemarin kmaren=kemarin bsk=besok besog=besok td=tadi tdi=tadi
hr=hari hri=hari mgg=minggu mggu=minggu bln=bulan bulan2=bulan thn=tahun th=tahun
org=orang orng=orang tmn=teman temen=teman tmen=teman sodara=saudara
klo=kalau kalo=kalau kl=kalau klau=kalau kalu=kalau apa2=apa+apa
sampe=sampai smpe=sampai ampe=sampai
gini=begini gitu=begitu gt=begitu gtu=begitu bgitu=begitu
mau=mau mo=mau pengen=ingin pgn=ingin pingin=ingin pengin=ingin
tau=tahu tw=tahu taw=tahu ngerti=mengerti ngrti=mengerti
liat=lihat liad=lihat ngeliat=melihat
bikin=buat bkin=buat nyuruh=menyuruh nunggu=menunggu nungguin=menunggu tunggu2=menunggu
ngisi=mengisi isi=isi ngirim=mengirim kirim=kirim dikirimin=dikirim nanya=bertanya tanya2=bertanya
nyoba=mencoba coba2=mencoba ngulang=mengulang ganti2=ganti ngecek=cek cek2=cek dicek=dicek
ngelink=menautkan tautin=tautkan nyambung=tersambung nyangkut=tersangkut
ditolak=ditolak gagal=gagal gagl=gagal ggl=gagal eror=error erorr=error err=error
blokir=blokir diblokir=diblokir keblokir=diblokir keblok=diblokir diblok=diblokir
ilang=hilang ilng=hilang hilng=hilang
duit=uang uwang=uang dana=dana saldo=saldo insentif=insentif insentip=insentif
sertif=sertifikat sertifkat=sertifikat srtifikat=sertifikat sertipikat=sertifikat
pelatihan=pelatihan pltihan=pelatihan kursus=pelatihan kelas=kelas
akun=akun akunn=akun acc=akun account=akun akon=akun
rek=rekening rekening=rekening norek=nomor+rekening
hp=hp hape=hp handphone=hp nohp=nomor+hp wa=whatsapp
otp=otp kodeotp=kode+otp
mksh=terima+kasih makasih=terima+kasih mkasih=terima+kasih trims=terima+kasih
trimakasih=terima+kasih terimakasih=terima+kasih tq=terima+kasih thx=terima+kasih
thanks=terima+kasih thank=terima+kasih tks=terima+kasih ty=terima+kasih
mantul=mantap mantab=mantap mantep=mantap mntp=mantap keren=keren kerenn=keren
bgs=bagus bagu=bagus bgus=bagus good=bagus nice=bagus great=bagus cool=keren
sip=oke siip=oke ok=oke okay=oke okey=oke oky=oke okee=oke
tlg=tolong tolongin=tolong plis=tolong pls=tolong please=tolong plz=tolong mohon=tolong
help=tolong bantu=bantu bantuin=bantu dibantuin=dibantu
maf=maaf mf=maaf mav=maaf sorry=maaf sori=maaf
bener=benar bnr=benar bner=benar emg=memang emang=memang
ngga=tidak nda=tidak nope=tidak no=nomor not=tidak cant=tidak+bisa cannot=tidak+bisa
dont=jangan never=tidak+pernah
lemot=lambat lelet=lambat lama=lama lma=lama
parah=parah prh=parah bgst=bangsat anjir=anjing anjay=anjing njir=anjing anjg=anjing
goblok=bodoh gblk=bodoh bego=bodoh tolol=bodoh
kecewa=kecewa kcewa=kecewa kesel=kesal kzl=kesal bete=kesal sebel=kesal
sedih=sedih sdih=sedih nangis=menangis stress=stres stres=stres depresi=depresi
bingung=bingung bngung=bingung binggung=bingung confused=bingung
fake=palsu hoax=palsu hoaks=palsu scam=penipuan scammer=penipu tipu=tipu nipu=menipu
penipu=penipu ketipu=tertipu
joki=joki jockey=joki calo=joki
lolos=lolos lulus=lulus keterima=diterima
wkwk=tertawa wkwkwk=tertawa haha=tertawa hehe=tertawa hihi=tertawa xixi=tertawa
btw=omong+omong fyi=informasi info=info infonya=infonya
asap=segera cepet=cepat cpt=cepat cpet=cepat buruan=segera
skali=sekali skli=sekali sekali=sekali bnyk=banyak byk=banyak bnyak=banyak
dikit=sedikit sdkt=sedikit dkit=sedikit
pdhl=padahal padahl=padahal pdahal=padahal
smua=semua smw=semua sm2=sama+sama
ttp=tetap ttep=tetap tetep=tetap
emang=memang mmg=memang
kok=kok kog=kok ko=kok
deh=deh dong=dong donk=dong dunk=dong sih=sih
aplikasi=aplikasi apk=aplikasi app=aplikasi apps=aplikasi
web=situs website=situs situs=situs link=tautan
login=masuk signin=masuk masuk=masuk
daftar=daftar registrasi=daftar register=daftar regis=daftar
verif=verifikasi verify=verifikasi verification=verifikasi
wajah=wajah muka=wajah face=wajah selfie=swafoto
password=kata+sandi pw=kata+sandi pass=kata+sandi sandi=kata+sandi
email=email imel=email e-mail=email surel=email
refund=pengembalian+dana transfer=transfer tf=transfer trf=transfer
payment=pembayaran pay=bayar
survey=survei survei=survei
cair=cair dicairin=dicairkan cairin=cairkan pencairan=pencairan
gelombang=gelombang gel=gelombang batch=gelombang
"""

_NEGATIONS = frozenset({"tidak", "bukan", "belum", "jangan", "tanpa"})
_KEEP_DOUBLE = {"maf": "maaf", "sat": "saat", "tat": "taat", "manfat": "manfaat"}

_EMOJI_POS = "😀😃😄😁😆😊🙂😍🥰😘😇🤗👍👌👏🙌💪❤️💕💖💗💯🎉✨🤩😎☺️🥳✅🌟"
_EMOJI_NEG = "😡😠🤬😤😞😔😟😢😭😩😫😣😖😒🙄💔👎😱😨😰😥🤦🤷‍♀️😑😐😕☹️🥺😓"
_EMOTICONS = {
    ":)": " emo_pos ",
    ":-)": " emo_pos ",
    ":d": " emo_pos ",
    "<3": " emo_pos ",
    ":(": " emo_neg ",
    ":-(": " emo_neg ",
    ":'(": " emo_neg ",
    "-_-": " emo_neg ",
}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MENTION = re.compile(r"@\w+(?:\.\w+)*")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|(?<![\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"\.(?:com|id|net|org)\b\S*"
)
_PHONE = re.compile(r"(?<!\d)(?:\+62[ -]?|62|0)8\d{1,3}[ .-]?\d{3,4}[ .-]?\d{3,5}(?!\d)")
_LONGNUM = re.compile(r"(?<!\d)\d(?:[ .-]?\d){9,19}(?!\d)")
_HAS_LONG_DIGITS = re.compile(r"\d[ .-]?\d[ .-]?\d[ .-]?\d[ .-]?\d")
_STRETCH = re.compile(r"([a-z])\1{2,}")
_TOKEN = re.compile(r"[a-z0-9_]+|[!?]")


def _build_slang(text: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for pair in text.split():
        src, _, dst = pair.partition("=")
        table.setdefault(src.replace("+", " "), dst.replace("+", " "))
    return table


SLANG: dict[str, str] = _build_slang(_SLANG_TEXT)


def _emoji_tables() -> tuple[dict[int, str], re.Pattern[str]]:
    chars = dict.fromkeys(_EMOJI_POS, " emo_pos ") | dict.fromkeys(_EMOJI_NEG, " emo_neg ")
    chars |= {"\ufe0f": "", "\u200d": ""}
    table = {ord(ch): word for ch, word in chars.items()}
    emoticons = re.compile("|".join(re.escape(k) for k in sorted(_EMOTICONS, key=len)[::-1]))
    return table, emoticons


_EMOJI_TABLE, _EMOTICON = _emoji_tables()


def _squeeze(match: re.Match[str]) -> str:
    return match.group(1)


@lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    return _stemmer().stem(token) if token.isalpha() and len(token) > 3 else token


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]  # Sastrawi ships no type hints
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


def _placeholders(text: str) -> str:
    if "@" in text:
        text = _MENTION.sub(" mentionuser ", _EMAIL.sub(" emailaddr ", text))
    if "." in text:
        text = _URL.sub(" urladdr ", text)
    if _HAS_LONG_DIGITS.search(text):
        text = _LONGNUM.sub(" nomorpanjang ", _PHONE.sub(" nomorhp ", text))
    if not text.isascii():
        text = text.translate(_EMOJI_TABLE)
    if ":" in text or "<" in text or "_" in text:
        text = _EMOTICON.sub(lambda m: _EMOTICONS[m.group(0)], text)
    return text


def _token(tok: str) -> str:
    if tok.endswith("2") and tok[:-1].isalpha():
        tok = tok[:-1]  # reduplication: anak2 -> anak
    return _KEEP_DOUBLE.get(tok, tok)


def _tokens(text: str) -> list[str]:
    text = _STRETCH.sub(_squeeze, text.replace("'", ""))
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        mapped = SLANG.get(tok)
        if mapped is None:
            out.append(_token(tok))
        elif " " in mapped:
            out.extend(mapped.split(" "))
        else:
            out.append(mapped)
    return out


def _mark_negation(tokens: list[str]) -> list[str]:
    marks = [
        f"neg_{nxt}" for tok, nxt in pairwise(tokens) if tok in _NEGATIONS and nxt not in _NEGATIONS
    ]
    return tokens + marks if marks else tokens


def normalize(text: str, *, stem: bool = False, negation: bool = True) -> str:
    """Normalised, space-separated tokens; never contains an e-mail, URL or 10+ digit number."""
    tokens = _tokens(_placeholders(text.lower()))
    if stem:
        tokens = [_stem(t) for t in tokens]
    if negation:
        tokens = _mark_negation(tokens)
    return " ".join(tokens)


def normalize_many(texts: Iterable[str], *, stem: bool = False, negation: bool = True) -> list[str]:
    """`normalize` over a batch, in order."""
    return [normalize(t, stem=stem, negation=negation) for t in texts]


# --- personal data masking -------------------------------------------------------------------

_PII_EMAIL = re.compile(r"\b([\w.+-])([\w.+-]*)@([\w-]+(?:\.[\w-]+)+)")
_PII_NUMBER = re.compile(r"(?<![\w.])\+?\d(?:[ .-]?\d){7,19}(?![\w])")
_MONEY_CONTEXT = re.compile(r"(?:rp\.?|idr|rupiah)\s*$", re.IGNORECASE)
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def _mask_digits(digits: str, keep_head: int, keep_tail: int) -> str:
    hidden = len(digits) - keep_head - keep_tail
    return digits[:keep_head] + "*" * hidden + digits[len(digits) - keep_tail :]


def _mask_number(match: re.Match[str]) -> str:
    raw = match.group(0)
    before = match.string[max(0, match.start() - 8) : match.start()]
    if _MONEY_CONTEXT.search(before) or _THOUSANDS.fullmatch(raw):
        return raw  # a rupiah amount such as 3.500.000, not an identifier
    plus = raw.startswith("+")
    digits = re.sub(r"\D", "", raw)
    if digits.startswith(("08", "628")) and 10 <= len(digits) <= 14:
        return ("+" if plus else "") + _mask_digits(digits, 4, 3)  # phone: 0812*****789
    if len(digits) == 16:
        return _mask_digits(digits, 4, 4)  # NIK / KK: 3201********0001
    if 10 <= len(digits) <= 20:
        return _mask_digits(digits, 0, 4)  # bank account / e-wallet: ******7890
    return raw


def mask_pii(text: str) -> str:
    """Text with e-mails, NIK/KK, phone and account numbers masked, keeping a short hint."""
    text = _PII_EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(3)}", text)
    return _PII_NUMBER.sub(_mask_number, text)
